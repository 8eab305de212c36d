"""config.yml is validated at start-up; a wrong file names the key, the value and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.components import nlu_config
from bot.settings import ConfigError, load_settings
from nlu.self_training import SelfTrainingConfig

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, change: dict) -> Path:
    data = yaml.safe_load((ROOT / "config.yml").read_text())
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[last] = value
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_shipped_config_loads_and_is_frozen() -> None:
    settings = load_settings(ROOT / "config.yml")
    assert settings.queue_for_intent()["billing_issue"] == "billing"
    with pytest.raises(ValueError, match="frozen"):
        settings.language = "de"  # type: ignore[misc]


def test_a_recognised_intent_has_its_own_answer_threshold(tmp_path: Path) -> None:
    changed = {
        "knowledge_base.answer_threshold": 0.9,
        "knowledge_base.answer_threshold_in_scope": 0.6,
    }
    kb = load_settings(_write(tmp_path, changed)).knowledge_base
    assert kb.threshold_for("shipping_info") == 0.6
    assert kb.threshold_for("nlu_fallback") == 0.9
    unset = load_settings(_write(tmp_path, {"knowledge_base.answer_threshold_in_scope": None}))
    assert unset.knowledge_base.threshold_for("shipping_info") == 0.9


def test_the_clarify_threshold_must_be_below_the_answer_thresholds(tmp_path: Path) -> None:
    kb = load_settings(_write(tmp_path, {"knowledge_base.clarify_threshold": 0.2})).knowledge_base
    assert kb.clarify_threshold == 0.2
    off = load_settings(_write(tmp_path, {"knowledge_base.clarify_threshold": None}))
    assert off.knowledge_base.clarify_threshold is None
    too_high = {
        "knowledge_base.answer_threshold_in_scope": 0.6,
        "knowledge_base.clarify_threshold": 0.6,
    }
    with pytest.raises(ConfigError, match=r"clarify_threshold \(0\.6\) must be below"):
        load_settings(_write(tmp_path, too_high))


def test_self_training_settings_reach_the_nlu_config(tmp_path: Path) -> None:
    changed = {"nlu.self_training": {"unlabelled": "messages.txt", "rounds": 3, "per_intent": 9}}
    settings = load_settings(_write(tmp_path, changed))
    assert settings.resolve(settings.nlu.self_training.unlabelled) == tmp_path / "messages.txt"
    assert nlu_config(settings).self_training == SelfTrainingConfig(3, 9, 1.0)
    assert load_settings(ROOT / "config.yml").nlu.self_training.unlabelled is None


def test_database_url_comes_from_the_environment() -> None:
    settings = load_settings(ROOT / "config.yml", {"DATABASE_URL": "sqlite+aiosqlite:///x.db"})
    assert settings.database_url == "sqlite+aiosqlite:///x.db"


@pytest.mark.parametrize(
    ("change", "key", "value"),
    [
        ({"nlu.confidence_threshold": 1.5}, "nlu.confidence_threshold", "1.5"),
        (
            {"knowledge_base.answer_threshold_in_scope": 1.5},
            "knowledge_base.answer_threshold_in_scope",
            "1.5",
        ),
        ({"routing.default_capacity": "lots"}, "routing.default_capacity", "'lots'"),
        ({"queues.0.name": "Billing Team"}, "queues.0.name", "'Billing Team'"),
        ({"routing.default_queue": "nowhere"}, "routing.default_queue", "'nowhere'"),
        ({"unknown_key": 1}, "unknown_key", "1"),
        ({"nlu.self_training": {"rounds": 11}}, "nlu.self_training.rounds", "11"),
        ({"nlu.self_training": {"per_intent": 0}}, "nlu.self_training.per_intent", "0"),
    ],
)
def test_a_wrong_value_names_key_value_and_reason(
    tmp_path: Path, change: dict, key: str, value: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(_write(tmp_path, change))
    message = str(error.value)
    assert key in message or key.rsplit(".", maxsplit=1)[-1] in message
    assert value in message


def test_missing_and_malformed_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("language: [en\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken)
