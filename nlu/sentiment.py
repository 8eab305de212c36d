"""Per-message sentiment from VADER's lexicon (ships in its package; no weights to download)."""

from __future__ import annotations

from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Sentiment:
    label: str  # negative | neutral | positive
    score: float  # -1 (very negative) .. 1 (very positive)


@dataclass(frozen=True)
class SentimentBands:
    """VADER compound scores at or below `negative_at` are negative, at or above `positive_at`
    positive, the rest neutral (VADER's own convention is -0.05 and 0.05)."""

    negative_at: float = -0.05
    positive_at: float = 0.05

    def __post_init__(self) -> None:
        if not -1.0 <= self.negative_at < self.positive_at <= 1.0:
            raise ValueError(
                f"sentiment bands need -1 <= negative_at < positive_at <= 1, got "
                f"{self.negative_at} and {self.positive_at}"
            )


class SentimentAnalyzer:
    def __init__(self, bands: SentimentBands | None = None) -> None:
        self._vader = SentimentIntensityAnalyzer()
        self.bands = bands or SentimentBands()

    def analyze(self, text: str) -> Sentiment:
        score = round(float(self._vader.polarity_scores(text)["compound"]), 4)
        if score >= self.bands.positive_at:
            return Sentiment("positive", score)
        if score <= self.bands.negative_at:
            return Sentiment("negative", score)
        return Sentiment("neutral", score)
