"""Rule entities: the training data's regexes, lookups and synonyms, plus common patterns
(e-mail, phone, order number, money, dates) with regexes and spaCy's rule components; with a
statistical extractor, its entities where no rule found one."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nlu.spacy_cpu import Language, spacy
from nlu.training_data import TrainingData

if TYPE_CHECKING:
    from nlu.spacy_ner import StatisticalEntities

ORDER_NUMBER = r"\b[A-Z]{2,3}-\d{5,8}\b"
# A phone number: an optional +country code, an optional (area code), then digit groups split
# by at most one space, dot, dash or slash; it must hold 9 to 15 digits (7 with a +country
# code), so amounts, dates and years are not taken for one, nor are 16-digit card numbers.
PHONE = (
    r"(?<![\w+])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,5}\)[ .\-]?)?\d{1,5}(?:[ .\-/]?\d{1,5}){1,6}(?!\w)"
)
PHONE_DIGITS = range(9, 16)
INTERNATIONAL_PHONE_DIGITS = range(7, 16)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|(?-i:May)|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
# Calendar dates: 2024-03-05, 5/3/2024, 05.03.24, 5 March (2024), 5th of March, March 5(, 2024).
# "May" counts only capitalised; relative dates ("tomorrow", "last week") are left to a
# statistical extractor.
DATES = [
    r"\b\d{4}-(?:0[1-9]|1[0-2])-(?:[12]\d|3[01]|0[1-9])\b",
    r"\b(?:[12]\d|3[01]|0?[1-9])[/.](?:[12]\d|3[01]|0?[1-9])[/.](?:\d{4}|\d{2})\b",
    rf"(?i)\b{_DAY}(?: of)? {_MONTH}(?:,? \d{{4}})?\b",
    rf"(?i)\b{_MONTH} {_DAY}(?:,? \d{{4}})?\b",
]
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


@dataclass(frozen=True)
class _Regex:
    entity: str
    pattern: re.Pattern[str]
    accept: Callable[[str], bool] = lambda _match: True


def _plausible_phone(match: str) -> bool:
    digits = sum(c.isdigit() for c in match)
    allowed = INTERNATIONAL_PHONE_DIGITS if match.startswith("+") else PHONE_DIGITS
    return digits in allowed


BUILT_IN_REGEXES = [
    _Regex("order_number", re.compile(ORDER_NUMBER)),
    _Regex("phone", re.compile(PHONE), _plausible_phone),
    *(_Regex("date", re.compile(pattern)) for pattern in DATES),
]


class EntityExtractor:
    """Finds entities by rules (overlapping matches keep the longest, earliest span), then
    adds the statistical extractor's entities that overlap none of them."""

    def __init__(
        self,
        data: TrainingData,
        language: str = "en",
        statistical: StatisticalEntities | None = None,
    ) -> None:
        self._synonyms = dict(data.synonyms)
        self._regexes = [
            _Regex(entity, re.compile(pattern))
            for entity, pats in data.regexes.items()
            for pattern in pats
        ]
        # The training data's regexes for an entity replace the built-in ones for it.
        self._regexes += [r for r in BUILT_IN_REGEXES if r.entity not in data.regexes]
        self._nlp = _rule_pipeline(language, data.lookups)
        self._statistical = statistical

    def extract(self, text: str, language: str | None = None) -> list[Entity]:
        """The entities in `text`; the statistical ones only when `language` (the message's,
        if known) is the statistical pipeline's."""
        return self.extract_many([text], [language])[0]

    def extract_many(self, texts: list[str], languages: Sequence[str | None]) -> list[list[Entity]]:
        """`extract` for each text with its language; the statistical pipeline runs once for
        all the texts it reads."""
        kept = [_without_overlaps(self._by_rules(text)) for text in texts]
        statistical = self._statistical
        if statistical is not None:
            read = [i for i, language in enumerate(languages) if statistical.reads(language)]
            found = statistical.extract_many([texts[i] for i in read]) if read else []
            for i, entities in zip(read, found, strict=True):
                kept[i] = _with_unclaimed(kept[i], entities)
        return [[self._canonical(e) for e in entities] for entities in kept]

    def _by_rules(self, text: str) -> list[Entity]:
        found = [
            Entity(regex.entity, m.group(0), m.start(), m.end(), "RegexEntityExtractor")
            for regex in self._regexes
            for m in regex.pattern.finditer(text)
            if regex.accept(m.group(0))
        ]
        return found + [
            Entity(ent.label_, ent.text, ent.start_char, ent.end_char, "SpacyEntityRuler")
            for ent in self._nlp(text).ents
        ]

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


def _with_unclaimed(rules: list[Entity], statistical: list[Entity]) -> list[Entity]:
    """`rules` plus the statistical entities that overlap none of them, in text order."""
    unclaimed = [
        entity
        for entity in statistical
        if all(entity.start >= r.end or entity.end <= r.start for r in rules)
    ]
    return sorted(rules + unclaimed, key=lambda e: e.start)
