"""Checks on training data that catch problems before any training starts."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from nlu.training_data import TrainingData

DEFAULT_MIN_EXAMPLES = 5
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Duplicate:
    text: str
    intent: str
    count: int


@dataclass(frozen=True)
class Conflict:
    text: str
    intents: tuple[str, ...]


@dataclass(frozen=True)
class SparseIntent:
    intent: str
    examples: int


@dataclass(frozen=True)
class ValidationReport:
    examples: int
    intents: int
    min_examples: int
    duplicates: list[Duplicate] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    sparse_intents: list[SparseIntent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.conflicts or self.sparse_intents)

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "examples": self.examples,
            "intents": self.intents,
            "min_examples": self.min_examples,
            "duplicates": [vars(d) for d in self.duplicates],
            "conflicts": [{"text": c.text, "intents": list(c.intents)} for c in self.conflicts],
            "sparse_intents": [vars(s) for s in self.sparse_intents],
        }


def normalized(text: str) -> str:
    """The form under which two examples count as the same text: case and spacing ignored."""
    return _SPACES.sub(" ", text).strip().casefold()


def validate(data: TrainingData, min_examples: int = DEFAULT_MIN_EXAMPLES) -> ValidationReport:
    """Duplicates within an intent, one text under several intents, intents with few examples."""
    pairs = Counter((normalized(e.text), e.intent) for e in data.examples)
    first_spelling: dict[str, str] = {}
    intents_of: dict[str, set[str]] = {}
    for example in data.examples:
        key = normalized(example.text)
        first_spelling.setdefault(key, example.text)
        intents_of.setdefault(key, set()).add(example.intent)
    per_intent = Counter(e.intent for e in data.examples)
    return ValidationReport(
        examples=len(data.examples),
        intents=len(per_intent),
        min_examples=min_examples,
        duplicates=[
            Duplicate(first_spelling[text], intent, count)
            for (text, intent), count in pairs.items()
            if count > 1
        ],
        conflicts=[
            Conflict(first_spelling[text], tuple(sorted(intents)))
            for text, intents in intents_of.items()
            if len(intents) > 1
        ],
        sparse_intents=[
            SparseIntent(intent, count)
            for intent, count in sorted(per_intent.items())
            if count < min_examples
        ],
    )
