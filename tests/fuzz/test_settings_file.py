"""Fuzzing config.yml: any file gives Settings or a ConfigError (the key, the value and what was
expected); the real config.yml with valid changes still loads."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from bot.settings import ConfigError, Settings, load_settings
from tests.fuzz.strategies import DEEP, DEEP_CLOSED, JSON, SCALARS
from tests.fuzz.tally import fuzz, outcome

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = yaml.safe_load((ROOT / "config.yml").read_text())


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of the configuration, leaves and branches."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(BASE)


def _change(config: dict[str, Any], path: tuple[Any, ...], value: Any, drop: bool) -> None:
    """Set (or drop) the key at `path`; nothing when an earlier change removed its parent."""
    parent: Any = config
    try:
        for part in path[:-1]:
            parent = parent[part]
        if drop and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        return


CHANGES = st.lists(
    st.tuples(st.sampled_from(PATHS), st.one_of(SCALARS, JSON), st.booleans()), max_size=3
)


def load(path: Path) -> Settings | None:
    try:
        settings = load_settings(path, {})
    except ConfigError as exc:
        outcome("config", declared=True)
        assert str(exc).startswith(f"{path}: ")
        return None
    except Exception:
        outcome("config", declared=False)
        raise
    outcome("config", declared=True)
    return settings


def _write(folder: Path, config: Any) -> Path:
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@fuzz
@given(changes=CHANGES)
def test_a_changed_config_loads_or_says_what_is_wrong(
    folder: Path, changes: list[tuple[tuple[Any, ...], Any, bool]]
) -> None:
    config = copy.deepcopy(BASE)
    for path, value, drop in changes:
        _change(config, path, value, drop)
    load(_write(folder, config))


@fuzz
@given(text=st.one_of(st.text(), JSON.map(yaml.safe_dump)))
@example(text=DEEP)
@example(text=f"nlu: {DEEP_CLOSED}")
def test_any_text_loads_or_says_what_is_wrong(folder: Path, text: str) -> None:
    path = folder / "config.yml"
    path.write_text(text, encoding="utf-8")
    load(path)


@fuzz
@given(
    threshold=st.floats(min_value=0, max_value=1),
    chunk_words=st.integers(min_value=20, max_value=2000),
)
def test_valid_values_still_load(folder: Path, threshold: float, chunk_words: int) -> None:
    config = copy.deepcopy(BASE)
    config["nlu"]["confidence_threshold"] = threshold
    config["knowledge_base"]["chunk_words"] = chunk_words
    settings = load(_write(folder, config))
    assert settings is not None
    assert settings.nlu.confidence_threshold == threshold
    assert settings.knowledge_base.chunk_words == chunk_words
