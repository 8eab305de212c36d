"""`helpline kb evaluate / import / index`, and the metrics on labelled queries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from bot.cli import kb as kb_cli
from knowledge_base.articles import Article
from knowledge_base.evaluation import LabelledQuery, evaluate
from knowledge_base.index import KnowledgeBaseIndex
from nlu.encoder import Encoder

ROOT = Path(__file__).resolve().parents[2]
METRICS = {
    "p_at_1",
    "mrr",
    "recall_at_5",
    "answered_rate",
    "wrong_answer_rate",
    "coverage",
    "abstain_recall",
    "query_ms_p50",
}
ARTICLES = [
    {"id": "socks", "title": "Wool socks", "body": "Our merino socks are knitted in Portugal."},
    {"id": "umbrellas", "title": "Umbrella repairs", "body": "We repair umbrella ribs for free."},
    {"id": "hours", "title": "Opening hours", "body": "The shop opens at 9 and closes at 18."},
]
QUERIES = [
    {"query": "where are the merino socks made?", "relevant": ["socks"]},
    {"query": "can you fix my broken umbrella", "relevant": ["umbrellas"]},
    {"query": "when does the shop open", "relevant": ["hours"]},
    {"query": "what is the boiling point of mercury", "relevant": []},
]


@pytest.fixture(scope="module")
def small_kb(encoder: Encoder) -> KnowledgeBaseIndex:
    articles = [Article(a["id"], a["title"], a["body"], f"/kb/{a['id']}") for a in ARTICLES]
    return KnowledgeBaseIndex(articles, encoder)


def labelled() -> list[LabelledQuery]:
    return [LabelledQuery(q["query"], frozenset(q["relevant"])) for q in QUERIES]


def test_metrics_on_a_small_kb(small_kb: KnowledgeBaseIndex) -> None:
    result = evaluate(small_kb, labelled(), threshold=0.5)
    assert set(result) >= METRICS
    assert result["p_at_1"] == result["mrr"] == result["recall_at_5"] == 1.0
    assert result["abstain_recall"] == 1.0
    assert result["wrong_answer_rate"] == 0.0
    assert result["queries"] == 4 and result["answerable"] == 3


def test_a_threshold_of_one_abstains_on_everything(small_kb: KnowledgeBaseIndex) -> None:
    result = evaluate(small_kb, labelled(), threshold=1.0)
    assert result["answered_rate"] == 0.0 and result["coverage"] == 0.0
    assert result["wrong_answer_rate"] is None  # nothing answered: no rate
    assert result["abstain_recall"] == 1.0


def test_answering_everything_counts_the_wrong_answers(small_kb: KnowledgeBaseIndex) -> None:
    result = evaluate(small_kb, labelled(), threshold=0.0)
    assert result["answered_rate"] == 1.0
    assert result["wrong_answer_rate"] == 0.25  # mercury answered with some article
    assert result["abstain_recall"] == 0.0
    assert result["coverage"] == 1.0


def test_asking_counts_the_unanswered_queries_above_the_clarify_threshold(
    small_kb: KnowledgeBaseIndex,
) -> None:
    never = evaluate(small_kb, labelled(), threshold=1.0)
    assert "clarified_rate" not in never  # no clarify threshold: nothing about asking
    everything = evaluate(small_kb, labelled(), threshold=1.0, clarify_at=0.0)
    assert everything["clarified_rate"] == 1.0  # nothing answered, everything asked about
    assert everything["clarified_right_offered"] == 1.0  # each right article among the three
    assert everything["answered_or_offered"] == 1.0
    assert everything["unanswerable_clarified"] == 1.0  # mercury too
    answered = evaluate(small_kb, labelled(), threshold=0.0, clarify_at=0.0)
    assert answered["clarified_rate"] == 0.0  # all answered: nothing left to ask about
    assert answered["clarified_right_offered"] is None
    assert answered["answered_or_offered"] == answered["coverage"] == 1.0
    nothing = evaluate(small_kb, labelled(), threshold=1.0, clarify_at=1.0)
    assert nothing["clarified_rate"] == 0.0 and nothing["answered_or_offered"] == 0.0


@pytest.fixture
def config(tmp_path: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = yaml.safe_load((ROOT / "config.yml").read_text())
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "hours.md").write_text("# Opening hours\n\nWe open at 9 on weekdays.\n")
    data["knowledge_base"]["sources"] = [str(articles)]
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setattr(kb_cli, "settings_encoder", lambda settings, threads=0: encoder)  # once
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'kb.db'}")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_kb_evaluate_prints_the_metrics(config: Path, tmp_path: Path) -> None:
    (tmp_path / "kb.json").write_text(json.dumps(ARTICLES))
    (tmp_path / "queries.json").write_text(json.dumps(QUERIES))
    code, out, err = run(
        "kb", "evaluate", "--kb", str(tmp_path / "kb.json"), "--queries",
        str(tmp_path / "queries.json"), "--threshold", "0.5", "--json", "--config", str(config),
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert set(result) >= METRICS
    assert result["threshold"] == 0.5 and result["p_at_1"] == 1.0
    assert result["clarify_threshold"] == 0.1  # config.yml's: the asking is measured too
    assert 0.0 <= result["clarified_rate"] <= 1.0


def test_kb_evaluate_reports_an_unreadable_file(config: Path, tmp_path: Path) -> None:
    (tmp_path / "kb.json").write_text("{not json")
    (tmp_path / "queries.json").write_text(json.dumps(QUERIES))
    code, _, err = run(
        "kb", "evaluate", "--kb", str(tmp_path / "kb.json"), "--queries",
        str(tmp_path / "queries.json"), "--json", "--config", str(config),
    )  # fmt: skip
    assert code == 1
    assert "kb.json" in err and "not valid JSON" in err
    assert len(err.strip().splitlines()) == 1  # one line however long the path (was cut at 80)


def test_kb_import_upserts_good_files_and_reports_broken_ones(config: Path, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "faq.csv").write_text("question,answer\nDo you sell socks?,Yes, merino ones.\n")
    (incoming / "page.html").write_text("<title>Repairs</title><main><p>We fix zips.</p></main>")
    (incoming / "broken.json").write_text("[{")
    code, out, err = run("kb", "import", str(incoming), "--json", "--config", str(config))
    assert code == 0, err
    summary = json.loads(out)
    assert sorted(summary["created"]) == ["do-you-sell-socks", "page"]
    [skipped] = summary["errors"]
    assert "broken.json" in skipped and "not valid JSON" in skipped
    assert summary["index"]["articles"] == 2

    (incoming / "page.html").write_text("<title>Repairs</title><main><p>We fix hems.</p></main>")
    code, out, err = run("kb", "import", str(incoming), "--json", "--config", str(config))
    again = json.loads(out)
    assert again["updated"] == ["page"] and again["unchanged"] == ["do-you-sell-socks"]
    assert again["index"]["encoded"] == 1  # only the changed passage


def test_kb_import_of_a_missing_path_fails_clearly(config: Path, tmp_path: Path) -> None:
    code, _, err = run("kb", "import", str(tmp_path / "nowhere"), "--config", str(config))
    assert code == 1 and "nowhere" in err and "no such file" in err


def test_kb_index_only_embeds_what_changed(config: Path, tmp_path: Path) -> None:
    code, out, _ = run("kb", "index", "--json", "--config", str(config))
    assert code == 0
    assert json.loads(out)["encoded"] == 2  # the title and the one chunk
    assert (tmp_path / ".helpline" / "kb-embeddings.npz").exists()
    code, out, _ = run("kb", "index", "--json", "--config", str(config))
    assert json.loads(out) == {"articles": 1, "chunks": 1, "encoded": 0, "errors": []}
