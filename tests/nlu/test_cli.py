"""`helpline nlu evaluate` on CSV and YAML files, through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

ROOT = Path(__file__).resolve().parents[2]
TRAIN = {
    "greet": ["hi", "hello", "good morning", "hey there", "hiya"],
    "refund_request": [
        "I want my money back",
        "please refund my order",
        "how do I get a refund",
        "refund the jacket",
        "when will I receive my refund",
    ],
    "oos": ["tell me a joke", "what is the weather", "who won the match", "sing a song"],
}
TEST = [("hello there", "greet"), ("refund me please", "refund_request"), ("play music", "oos")]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.chdir(ROOT)  # the default config.yml names the encoder
    train = tmp_path / "train.csv"
    rows = [f"{text},{intent}" for intent, texts in TRAIN.items() for text in texts]
    train.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    test = tmp_path / "test.yml"
    items = [f"- intent: {intent}\n  examples: |\n    - {text}\n" for text, intent in TEST]
    test.write_text('version: "3.1"\nnlu:\n' + "".join(items), encoding="utf-8")
    return train, test


def test_evaluate_prints_the_documented_json(files: tuple[Path, Path]) -> None:
    train, test = files
    args = ["nlu", "evaluate", "--train", str(train), "--test", str(test), "--oos-label", "oos"]
    result = CliRunner().invoke(app, [*args, "--threshold", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "train_seconds"):
        assert report[key] >= 0.0
    assert report["parse_ms_p50"] <= report["parse_ms_p95"]
    assert report["examples_train"] == 10
    assert report["oos_examples_train"] == 4
    assert report["examples_test"] == 3
    assert report["threshold"] == 0.5
