"""Redaction before storage: card numbers (checked with Luhn, so order numbers and phone numbers
pass) and the operator's own patterns are replaced by `[card]` / `[label]` in message text.

The policy is set once at start-up by the composition root (`configure`); `add_message` applies
it to every message it stores, from every channel."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# 13 to 19 digits, optionally grouped by single spaces or dashes (how people type card numbers).
_CARD = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
CARD_LABEL = "card"


@dataclass(frozen=True)
class RedactionPolicy:
    cards: bool = True
    patterns: tuple[tuple[str, re.Pattern[str]], ...] = field(default=())  # (label, pattern)

    def redact(self, text: str) -> str:
        """The text with every card number and configured pattern replaced by its label."""
        if self.cards:
            text = _CARD.sub(_card_or_digits, text)
        for label, pattern in self.patterns:
            text = pattern.sub(f"[{label}]", text)
        return text


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_or_digits(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return f"[{CARD_LABEL}]" if luhn_valid(digits) else match.group(0)


_policy = RedactionPolicy()


def configure(policy: RedactionPolicy) -> None:
    """Set the policy every stored message goes through (once, at start-up)."""
    global _policy  # noqa: PLW0603 (one policy per process, set by the composition root)
    _policy = policy


def redact(text: str) -> str:
    return _policy.redact(text)


def redact_entities(entities: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Entities as stored: their text values redacted like the message they came from."""
    if not entities:
        return entities
    return [
        {k: redact(v) if isinstance(v, str) and k != "entity" else v for k, v in e.items()}
        for e in entities
    ]
