"""Per-message sentiment from VADER's lexicon (ships in its package; no weights to download)."""

from __future__ import annotations

from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@dataclass(frozen=True)
class Sentiment:
    label: str  # negative | neutral | positive
    score: float  # -1 (very negative) .. 1 (very positive)


class SentimentAnalyzer:
    def __init__(self, threshold: float = 0.05) -> None:
        self._vader = SentimentIntensityAnalyzer()
        self._threshold = threshold

    def analyze(self, text: str) -> Sentiment:
        score = float(self._vader.polarity_scores(text)["compound"])
        if score >= self._threshold:
            return Sentiment("positive", round(score, 4))
        if score <= -self._threshold:
            return Sentiment("negative", round(score, 4))
        return Sentiment("neutral", round(score, 4))
