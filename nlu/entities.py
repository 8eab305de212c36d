"""Rule entities: the training data's regexes, lookups and synonyms, plus common patterns
(e-mail, order number, money) with spaCy's rule components."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import spacy
from spacy.language import Language

from nlu.training_data import TrainingData

ORDER_NUMBER = r"\b[A-Z]{2,3}-\d{5,8}\b"
CURRENCY_WORDS = [
    "eur",
    "euro",
    "euros",
    "usd",
    "dollar",
    "dollars",
    "gbp",
    "pounds",
    "€",
    "$",
    "£",
]

SPACY_PATTERNS: list[dict[str, Any]] = [
    {"label": "email", "pattern": [{"LIKE_EMAIL": True}]},
    {"label": "amount", "pattern": [{"LIKE_NUM": True}, {"LOWER": {"IN": CURRENCY_WORDS}}]},
    {"label": "amount", "pattern": [{"ORTH": {"IN": ["€", "$", "£"]}}, {"LIKE_NUM": True}]},
]


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str
    start: int
    end: int
    extractor: str

    def as_rasa(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "extractor": self.extractor,
        }


class EntityExtractor:
    """Finds entities by rules; overlapping matches keep the longest, earliest span."""

    def __init__(self, data: TrainingData, language: str = "en") -> None:
        self._synonyms = dict(data.synonyms)
        self._regexes = [
            (entity, re.compile(pattern))
            for entity, pats in data.regexes.items()
            for pattern in pats
        ]
        if "order_number" not in data.regexes:
            self._regexes.append(("order_number", re.compile(ORDER_NUMBER)))
        self._nlp = _rule_pipeline(language, data.lookups)

    def extract(self, text: str) -> list[Entity]:
        found = [
            Entity(entity, m.group(0), m.start(), m.end(), "RegexEntityExtractor")
            for entity, pattern in self._regexes
            for m in pattern.finditer(text)
        ]
        found += [
            Entity(ent.label_, ent.text, ent.start_char, ent.end_char, "SpacyEntityRuler")
            for ent in self._nlp(text).ents
        ]
        return [self._canonical(e) for e in _without_overlaps(found)]

    def _canonical(self, entity: Entity) -> Entity:
        value = self._synonyms.get(entity.value.lower())
        if value is None:
            return entity
        return Entity(entity.entity, value, entity.start, entity.end, entity.extractor)


def _rule_pipeline(language: str, lookups: dict[str, list[str]]) -> Language:
    try:
        nlp = spacy.blank(language)
    except ImportError:  # spaCy has no tokenizer rules for this language code
        nlp = spacy.blank("xx")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    patterns = list(SPACY_PATTERNS)
    patterns += [
        {"label": entity, "pattern": value}
        for entity, values in lookups.items()
        for value in values
    ]
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]  # spaCy's pipe type is generic
    return nlp


def _without_overlaps(entities: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    for entity in sorted(entities, key=lambda e: (-(e.end - e.start), e.start)):
        if all(entity.start >= k.end or entity.end <= k.start for k in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: e.start)
