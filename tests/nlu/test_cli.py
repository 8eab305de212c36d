"""`helpline nlu evaluate` on CSV and YAML files, through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
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


IN_SCOPE = {
    "greet": [
        *TRAIN["greet"],
        "good evening",
        "hello, anyone there?",
        "hi team",
        "hey",
        "good afternoon",
    ],
    "refund_request": [
        *TRAIN["refund_request"],
        "I was charged twice, refund me",
        "can I have a refund for the shoes",
        "the refund has not arrived",
        "give me my money back for the broken lamp",
        "I returned the parcel, where is my refund",
    ],
    "order_status": [
        "where is my order",
        "has my parcel shipped yet",
        "track my package",
        "when will my order arrive",
        "my delivery is late",
        "what is the status of my order",
        "is my order on its way",
        "the parcel still has not come",
        "did you send my order",
        "how far is my delivery",
    ],
}
OFF_TOPIC = [
    "tell me a joke",
    "what is the weather",
    "who won the match",
    "sing a song",
    "what's the capital of Peru",
    "play some music",
    "how tall is Mount Everest",
    "recommend a good movie",
    "translate hello into French",
    "set an alarm for 7",
    "what's 15 times 3",
    "book me a flight to Rome",
]


@pytest.fixture
def oos_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config.yml whose training data is a CSV with two intents and `oos` rows."""
    monkeypatch.chdir(ROOT)
    rows = [(text, intent) for intent, texts in IN_SCOPE.items() for text in texts]
    rows += [(text, "oos") for text in OFF_TOPIC]
    data_file = tmp_path / "train.csv"
    lines = [f'"{text}",{label}' for text, label in rows]
    data_file.write_text("text,label\n" + "\n".join(lines) + "\n", encoding="utf-8")
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    config["nlu"]["training_data"] = str(data_file)
    config["nlu"]["model_dir"] = str(tmp_path / "model")
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def parse(config: Path, text: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["nlu", "parse", text, "--config", str(config)])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_train_with_an_oos_label_keeps_it_out_of_the_intents(oos_config: Path) -> None:
    result = CliRunner().invoke(app, ["train", "--oos-label", "oos", "--config", str(oos_config)])
    assert result.exit_code == 0, result.output
    assert "3 intents on 30 examples (12 out of scope)" in result.stderr
    metadata = json.loads((oos_config.parent / "model/metadata.json").read_text())
    assert metadata["intents"] == sorted(IN_SCOPE)
    assert metadata["oos_label"] == "oos"
    joke = parse(oos_config, "tell me a funny joke")
    assert joke["intent"]["name"] == "nlu_fallback"
    assert "oos" not in {s["name"] for s in joke["intent_ranking"]}
    assert parse(oos_config, "please refund my order")["intent"]["name"] == "refund_request"


def test_train_retrains_when_only_the_oos_label_changes(oos_config: Path) -> None:
    train = ["train", "--config", str(oos_config)]
    assert CliRunner().invoke(app, train).exit_code == 0
    metadata = json.loads((oos_config.parent / "model/metadata.json").read_text())
    assert "oos" in metadata["intents"]  # without the label, `oos` is just another intent
    again = CliRunner().invoke(app, [*train, "--oos-label", "oos"])
    assert again.exit_code == 0, again.output
    assert "up to date" not in again.stderr
    metadata = json.loads((oos_config.parent / "model/metadata.json").read_text())
    assert "oos" not in metadata["intents"]


def test_train_with_the_oos_label_from_config_yml(oos_config: Path) -> None:
    config = yaml.safe_load(oos_config.read_text(encoding="utf-8"))
    config["nlu"]["oos_label"] = "oos"
    oos_config.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "--config", str(oos_config)])
    assert result.exit_code == 0, result.output
    metadata = json.loads((oos_config.parent / "model/metadata.json").read_text())
    assert metadata["intents"] == sorted(IN_SCOPE)


def test_train_refuses_an_oos_label_no_example_carries(oos_config: Path) -> None:
    result = CliRunner().invoke(app, ["train", "--oos-label", "ood", "--config", str(oos_config)])
    assert result.exit_code == 1
    assert "no example is labelled 'ood'" in result.stderr
    assert not (oos_config.parent / "model").exists()


def test_evaluate_takes_the_oos_label_from_config_yml(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    train, test = files
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    config["nlu"]["oos_label"] = "oos"
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    args = ["nlu", "evaluate", "--train", str(train), "--test", str(test), "--json"]
    result = CliRunner().invoke(app, [*args, "--config", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["oos_examples_train"] == 4
    assert report["examples_train"] == 10


def with_unlabelled(config: Path, unlabelled: Path) -> None:
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["nlu"]["self_training"] = {"unlabelled": str(unlabelled), "rounds": 1, "per_intent": 2}
    settings["nlu"]["fine_tune"] = {"epochs": 0}  # self-training works the same without it
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")


def test_train_self_trains_on_the_configured_unlabelled_messages(oos_config: Path) -> None:
    messages = oos_config.parent / "messages.txt"
    messages.write_text("hello again\nI never got my refund\nwhere is my parcel now\n")
    with_unlabelled(oos_config, messages)
    train = ["train", "--oos-label", "oos", "--config", str(oos_config)]
    result = CliRunner().invoke(app, train)
    assert result.exit_code == 0, result.output
    metadata = json.loads((oos_config.parent / "model/metadata.json").read_text())
    assert metadata["unlabelled_messages"] == 3
    assert metadata["pseudo_labelled_examples"] == 3  # one for each intent
    assert "up to date" in CliRunner().invoke(app, train).stderr
    messages.write_text(messages.read_text() + "good morning to you\n")
    again = CliRunner().invoke(app, train)
    assert again.exit_code == 0, again.output
    assert "up to date" not in again.stderr  # new messages: trained again
    metadata = json.loads((oos_config.parent / "model/metadata.json").read_text())
    assert metadata["unlabelled_messages"] == 4


def test_train_names_a_broken_unlabelled_file(oos_config: Path) -> None:
    messages = oos_config.parent / "messages.json"
    messages.write_text('["hello"]')
    with_unlabelled(oos_config, messages)
    result = CliRunner().invoke(app, ["train", "--config", str(oos_config)])
    assert result.exit_code == 1
    assert f"{messages}: unsupported format" in result.stderr
    assert not (oos_config.parent / "model").exists()


def test_evaluate_self_trains_on_unlabelled_messages(files: tuple[Path, Path]) -> None:
    train, test = files
    messages = train.parent / "messages.txt"
    messages.write_text("hey hello\nrefund my shoes please\n")
    config = train.parent / "config.yml"
    config.write_text((ROOT / "config.yml").read_text(encoding="utf-8"), encoding="utf-8")
    with_unlabelled(config, train.parent / "not-this.txt")  # --unlabelled wins
    args = ["nlu", "evaluate", "--train", str(train), "--test", str(test), "--json"]
    result = CliRunner().invoke(
        app, [*args, "--unlabelled", str(messages), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["unlabelled_train"] == 2
    assert report["pseudo_labelled_train"] == 2
