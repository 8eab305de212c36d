"""An intent's name as the words it is made of: `card_payment_fee_charged` reads "card payment
fee charged", `OrderStatus` "order status", `faq/returns` "faq returns".

A name says what its intent is about, which a handful of examples may not. With ten examples
an intent on BANKING77, taking each name as one more example and starting the fine-tuning's
intent weights from the encoded names gained about a point (83.7 -> 84.8%, README "Measured");
with hundreds of examples an intent it makes no difference."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\W_]+")  # anything but letters and digits
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")  # orderStatus, ATMCard


def words_of(name: str) -> str:
    """The name's words in lower case, one space apart ("" when it has none)."""
    return " ".join(_CAMEL.sub(" ", _SEPARATORS.sub(" ", name)).lower().split())


def names_of(intents: list[str]) -> dict[str, str]:
    """Intent -> its name's words, for the names that have words."""
    return {intent: words for intent in dict.fromkeys(intents) if (words := words_of(intent))}


def name_examples(names: dict[str, str], texts: list[str]) -> dict[str, str]:
    """Words -> intent: the `names` not already an example's text (of any intent, in any
    case), each once."""
    taken = {text.casefold() for text in texts}
    named: dict[str, str] = {}
    for intent, words in names.items():
        if words.casefold() not in taken:
            named.setdefault(words, intent)
    return named
