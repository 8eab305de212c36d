"""Training data checks and `helpline nlu validate`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from nlu.training_data import Example, TrainingData
from nlu.validate import normalized, validate


def data(*pairs: tuple[str, str]) -> TrainingData:
    return TrainingData(examples=[Example(text, intent) for text, intent in pairs])


def test_clean_data_has_no_problems() -> None:
    report = validate(data(("hi", "greet"), ("hello", "greet"), ("bye", "goodbye")), 2)
    assert report.as_dict()["ok"] is False  # goodbye has one example, two are asked for
    assert [(s.intent, s.examples) for s in report.sparse_intents] == [("goodbye", 1)]
    assert validate(data(("hi", "greet"), ("bye", "goodbye")), 1).ok


def test_a_repeated_example_is_a_duplicate_whatever_its_case_and_spacing() -> None:
    report = validate(data(("Hi  there", "greet"), ("hi there", "greet"), ("bye", "bye")), 1)
    assert [(d.text, d.intent, d.count) for d in report.duplicates] == [("Hi  there", "greet", 2)]
    assert report.conflicts == []
    assert not report.ok


def test_one_text_under_two_intents_is_a_conflict() -> None:
    report = validate(data(("refund please", "refund"), ("Refund please", "billing")), 1)
    assert [(c.text, c.intents) for c in report.conflicts] == [
        ("refund please", ("billing", "refund"))
    ]
    assert report.duplicates == []


def test_normalized_ignores_case_and_spacing_but_not_words() -> None:
    assert normalized("  Where IS\tmy order ") == "where is my order"
    assert normalized("where is my order") != normalized("where is my parcel")


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["text,label"] + [f"{text},{label}" for text, label in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_command_exits_1_and_lists_the_problems_as_json(tmp_path: Path) -> None:
    rows = [("hi", "greet"), ("hi", "greet"), ("hello", "greet"), ("hello", "goodbye")]
    path = write_csv(tmp_path / "data.csv", rows)
    result = CliRunner().invoke(
        app, ["nlu", "validate", str(path), "--min-examples", "2", "--json"]
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["duplicates"] == [{"text": "hi", "intent": "greet", "count": 2}]
    assert report["conflicts"] == [{"text": "hello", "intents": ["goodbye", "greet"]}]
    assert report["sparse_intents"] == [{"intent": "goodbye", "examples": 1}]


def test_the_command_exits_0_on_clean_yaml(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello\n'
        "- intent: goodbye\n  examples: |\n    - bye\n    - see you\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["nlu", "validate", str(path), "--min-examples", "2"])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_the_command_reports_unreadable_data(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["nlu", "validate", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1
    assert "not found" in " ".join(result.output.split())
