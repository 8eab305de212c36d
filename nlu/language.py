"""Guess a message's language from common function words (enough to route by language)."""

from __future__ import annotations

import re

_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "a",
            "an",
            "is",
            "are",
            "was",
            "i",
            "you",
            "my",
            "your",
            "to",
            "of",
            "and",
            "in",
            "it",
            "for",
            "on",
            "with",
            "do",
            "does",
            "how",
            "what",
            "can",
            "not",
            "this",
            "that",
            "have",
            "me",
            "we",
            "please",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "ist",
            "sind",
            "ich",
            "du",
            "mein",
            "meine",
            "nicht",
            "und",
            "zu",
            "mit",
            "ein",
            "eine",
            "wie",
            "was",
            "kann",
            "bitte",
            "ich",
            "habe",
            "wir",
            "sie",
            "den",
            "dem",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "is",
            "zijn",
            "ik",
            "je",
            "jij",
            "mijn",
            "niet",
            "en",
            "te",
            "met",
            "hoe",
            "wat",
            "kan",
            "alstublieft",
            "heb",
            "wij",
            "u",
            "van",
            "voor",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "est",
            "sont",
            "je",
            "tu",
            "mon",
            "ma",
            "mes",
            "pas",
            "et",
            "à",
            "avec",
            "un",
            "une",
            "comment",
            "quoi",
            "peux",
            "vous",
            "nous",
            "de",
            "pour",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "es",
            "son",
            "yo",
            "tu",
            "mi",
            "mis",
            "no",
            "y",
            "con",
            "un",
            "una",
            "como",
            "qué",
            "puedo",
            "usted",
            "nosotros",
            "de",
            "para",
            "por",
        ]
    ),
}


def detect_language(text: str, default: str) -> str:
    """The language whose function words the text uses most; `default` when nothing matches."""
    words = [w.lower() for w in _WORDS.findall(text)]
    scores = {lang: sum(w in stop for w in words) for lang, stop in STOPWORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == default))
    return best if scores[best] > 0 else default
