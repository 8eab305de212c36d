"""The `helpline` command line, in-process through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import demo_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path, demo_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = demo_config(tmp_path / "config.yml", demo_model_dir)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_nlu_parse_prints_rasa_json(config: Path) -> None:
    code, out, _ = run("nlu", "parse", "where is my order AF-123456?", "--config", str(config))
    assert code == 0
    parsed = json.loads(out)
    assert parsed["intent"]["name"] == "order_status"
    assert {"entity": "order_number", "value": "AF-123456"}.items() <= parsed["entities"][0].items()


def test_train_skips_an_up_to_date_model(config: Path) -> None:
    code, _, err = run("train", "--config", str(config))
    assert code == 0
    assert "up to date" in err


def test_kb_index_reports_articles_and_broken_files(config: Path, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "good.md").write_text("---\ntitle: Opening hours\n---\nWe are open 9 to 5.\n")
    (articles / "broken.md").write_text("---\ntitle: [unclosed\n---\nText.\n")
    data = yaml.safe_load(config.read_text())
    data["knowledge_base"]["sources"] = [str(articles)]
    config.write_text(yaml.safe_dump(data))
    code, out, _ = run("kb", "index", "--json", "--config", str(config))
    assert code == 0
    summary = json.loads(out)
    assert summary["articles"] == 1
    assert len(summary["errors"]) == 1 and "broken.md" in summary["errors"][0]


def test_users_and_tickets_share_the_database(config: Path) -> None:
    code, _, err = run(
        "users",
        "create",
        "lin",
        "--role",
        "agent",
        "--queue",
        "billing",
        "--password",
        "long-enough-1",
        "--config",
        str(config),
    )
    assert code == 0, err
    again = run("users", "create", "lin", "--password", "long-enough-1", "--config", str(config))
    assert again[0] == 1 and "taken" in again[2]
    code, out, _ = run("tickets", "list", "--json", "--config", str(config))
    assert code == 0 and json.loads(out) == {"tickets": []}


def test_a_wrong_config_stops_with_the_key_and_value(tmp_path: Path) -> None:
    bad = tmp_path / "config.yml"
    data = yaml.safe_load((ROOT / "config.yml").read_text())
    data["routing"]["default_capacity"] = -3
    bad.write_text(yaml.safe_dump(data))
    code, _, err = run("tickets", "list", "--config", str(bad))
    assert code == 2
    assert "routing.default_capacity" in err and "-3" in err


def test_missing_model_is_a_clear_error(config: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(config.read_text())
    data["nlu"]["model_dir"] = str(tmp_path / "nowhere")
    config.write_text(yaml.safe_dump(data))
    code, _, err = run("nlu", "parse", "hi", "--config", str(config))
    assert code == 1
    assert "helpline train" in err


def test_score_evaluate_reports_the_prior_on_an_empty_database(config: Path) -> None:
    code, out, _ = run("score", "evaluate", "--json", "--config", str(config))
    assert code == 0
    result = json.loads(out)
    assert result["rated_conversations"] == 0 and result["auc"] is None
    assert result["model"] == "prior" and "sentiment_end" in result["weights"]
