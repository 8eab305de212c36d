"""Input strategies shared by the fuzzing modules: JSON values and awkward strings."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Control characters, lone surrogates are impossible in JSON text, so: NUL, bidi marks, emoji.
AWKWARD = st.sampled_from(
    ["", " ", "\x00", "\n\t\r", "\u202e\u200b", "😀" * 3, "a" * 4001, "x" * 70_000, "null", "{}"]
)
TEXT = st.one_of(st.text(), AWKWARD, st.text(st.characters(codec="utf-8"), max_size=50))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=12,
)


def json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


# Brackets nested beyond Python's recursion limit, as YAML or JSON text (slow to parse, so the
# tests add them as explicit examples rather than drawing them many times).
DEEP = "[" * 1500
DEEP_CLOSED = "[" * 1500 + "]" * 1500

# Rasa's `/intent{"entity": "value"}` payloads, well-formed or broken.
INTENT_PAYLOADS = st.builds(
    lambda name, tail: f"/{name}{tail}",
    st.text(min_size=0, max_size=20),
    st.one_of(
        st.just(""),
        st.builds(json_text, st.dictionaries(st.text(max_size=10), SCALARS, max_size=3)),
        st.text(max_size=30).map(lambda t: "{" + t),
        st.builds(json_text, JSON),
    ),
)
