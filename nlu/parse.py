"""The result of parsing one message, in Rasa's `/model/parse` shape plus our extras."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nlu.entities import Entity
from nlu.sentiment import Sentiment

FALLBACK_INTENT = "nlu_fallback"
# Rasa's direct trigger, a pressed button: /intent_name or /intent_name{"entity": "value"}
TRIGGER = re.compile(r"^/(?P<intent>[A-Za-z0-9_\-]+)(?P<entities>\{.*\})?\s*$", re.DOTALL)


def is_trigger(text: str) -> bool:
    """Whether `text` names its intent itself (a button) rather than saying something."""
    return TRIGGER.match(text) is not None


@dataclass(frozen=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True)
class Parse:
    text: str
    intent: IntentScore
    intent_ranking: list[IntentScore]
    entities: list[Entity] = field(default_factory=list)
    sentiment: Sentiment = field(default_factory=lambda: Sentiment("neutral", 0.0))
    language: str = "en"

    @property
    def is_fallback(self) -> bool:
        return self.intent.name == FALLBACK_INTENT

    def as_rasa(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "intent": _score(self.intent),
            "intent_ranking": [_score(s) for s in self.intent_ranking],
            "entities": [e.as_rasa() for e in self.entities],
            "sentiment": {"label": self.sentiment.label, "score": self.sentiment.score},
            "language": self.language,
        }


def _score(score: IntentScore) -> dict[str, Any]:
    return {"name": score.name, "confidence": round(score.confidence, 4)}
