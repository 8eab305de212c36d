"""Fuzzing the NLU training data reader: any file gives TrainingData or a TrainingDataError
naming the file (and the line when there is one); well-formed data reads back exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from nlu.training_data import TrainingData, TrainingDataError, read_training_data
from tests.fuzz.strategies import DEEP, DEEP_CLOSED, JSON, SCALARS, TEXT
from tests.fuzz.tally import fuzz, outcome

HUGE_CELL = "y" * 140_000  # beyond csv.field_size_limit()
WORD = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8)
ANNOTATION = st.one_of(
    st.builds(lambda v, e: f"[{v}]({e})", TEXT, TEXT),
    st.builds(lambda v, e, c: f"[{v}]({e}:{c})", TEXT, TEXT, TEXT),
    st.builds(lambda v, j: f"[{v}]{{{j}}}", TEXT, st.text(max_size=30)),
    st.builds(lambda v, e: f'[{v}]{{"entity": {e}}}', TEXT, st.sampled_from(['"x"', "1", "[]"])),
)
EXAMPLE_TEXT = st.lists(st.one_of(TEXT, ANNOTATION), min_size=1, max_size=4).map(" ".join)
EXAMPLES = st.one_of(
    st.lists(EXAMPLE_TEXT, max_size=4).map(lambda lines: "".join(f"- {x}\n" for x in lines)),
    st.lists(st.one_of(EXAMPLE_TEXT, JSON), max_size=3),
    TEXT,
    JSON,
)
ITEM = st.one_of(
    st.builds(
        lambda kind, name, examples: {kind: name, "examples": examples},
        st.sampled_from(["intent", "synonym", "regex", "lookup"]),
        st.one_of(TEXT, SCALARS),
        EXAMPLES,
    ),
    st.dictionaries(st.one_of(TEXT, st.sampled_from(["intent", "examples"])), JSON, max_size=3),
    JSON,
)
DOCUMENTS = st.one_of(
    st.fixed_dictionaries({"nlu": st.one_of(st.lists(ITEM, max_size=4), JSON)}),
    st.fixed_dictionaries({"version": TEXT, "nlu": st.lists(ITEM, max_size=3)}),
    JSON,
)


def read(path: Path) -> TrainingData | None:
    """The file's data, or None when the reader refused it with a TrainingDataError."""
    try:
        data = read_training_data(path)
    except TrainingDataError as exc:
        outcome("training_data", declared=True)
        assert str(exc).startswith(f"{path}:") or str(exc).startswith(str(path))
        assert exc.problem
        return None
    except Exception:
        outcome("training_data", declared=False)
        raise
    outcome("training_data", declared=True)
    return data


def _dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@fuzz
@given(text=st.one_of(st.text(), st.binary().map(lambda b: b.decode("latin-1"))))
@example(text=DEEP)
@example(text=f"nlu: {DEEP_CLOSED}")
def test_any_text_as_yaml_or_csv(folder: Path, text: str) -> None:
    for suffix in (".yml", ".csv"):
        path = folder / f"data{suffix}"
        path.write_text(text, encoding="utf-8")
        read(path)


@fuzz
@given(raw=st.binary(max_size=200))
def test_any_bytes(folder: Path, raw: bytes) -> None:
    for suffix in (".yml", ".csv"):
        path = folder / f"bytes{suffix}"
        path.write_bytes(raw)
        read(path)


@fuzz
@given(document=DOCUMENTS)
def test_yaml_shaped_documents(folder: Path, document: Any) -> None:
    path = folder / "shaped.yml"
    path.write_text(_dump(document), encoding="utf-8")
    read(path)


@fuzz
@given(rows=st.lists(st.lists(st.one_of(TEXT, st.just(HUGE_CELL)), max_size=4), max_size=6))
def test_csv_rows(folder: Path, rows: list[list[str]]) -> None:
    import csv  # noqa: PLC0415

    path = folder / "rows.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    read(path)


VALUE = WORD
INTENTS = st.dictionaries(
    WORD,
    st.lists(st.tuples(WORD, st.none() | st.tuples(VALUE, WORD)), min_size=1, max_size=4),
    min_size=1,
    max_size=4,
)


@fuzz
@given(intents=INTENTS)
def test_well_formed_yaml_reads_back(folder: Path, intents: dict[str, Any]) -> None:
    items, expected = [], []
    for intent, lines in intents.items():
        block = ""
        for prefix, annotation in lines:
            if annotation is None:
                block += f"- {prefix} words\n"
                expected.append((intent, f"{prefix} words", ()))
            else:
                value, entity = annotation
                block += f"- {prefix} [{value}]({entity}) words\n"
                expected.append((intent, f"{prefix} {value} words", ((entity, value),)))
        items.append({"intent": intent, "examples": block})
    path = folder / "good.yml"
    path.write_text(_dump({"nlu": items}), encoding="utf-8")
    data = read(path)
    assert data is not None
    got = [
        (e.intent, e.text, tuple((s.entity, e.text[s.start : s.end]) for s in e.entities))
        for e in data.examples
    ]
    assert got == expected
