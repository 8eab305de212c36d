"""Per-message sentiment labels and scores."""

from __future__ import annotations

import pytest

from nlu.sentiment import SentimentAnalyzer


@pytest.fixture(scope="module")
def analyzer() -> SentimentAnalyzer:
    return SentimentAnalyzer()


@pytest.mark.parametrize(
    "text",
    [
        "This is terrible, I am really angry and disappointed with your awful service",
        "The jacket arrived broken and nobody helps me. Worst shop ever!",
    ],
)
def test_clearly_negative(analyzer: SentimentAnalyzer, text: str) -> None:
    sentiment = analyzer.analyze(text)
    assert sentiment.label == "negative"
    assert -1.0 <= sentiment.score < -0.5


@pytest.mark.parametrize(
    "text",
    ["Thank you so much, this is great!", "I love the new boots, excellent quality"],
)
def test_clearly_positive(analyzer: SentimentAnalyzer, text: str) -> None:
    sentiment = analyzer.analyze(text)
    assert sentiment.label == "positive"
    assert 0.5 < sentiment.score <= 1.0


@pytest.mark.parametrize(
    "text", ["I ordered a tent on Monday", "Where is the store in Utrecht?", ""]
)
def test_neutral(analyzer: SentimentAnalyzer, text: str) -> None:
    sentiment = analyzer.analyze(text)
    assert sentiment.label == "neutral"
    assert abs(sentiment.score) < 0.05


def test_the_threshold_decides_what_counts_as_neutral() -> None:
    text = "the delivery was okay"
    score = SentimentAnalyzer().analyze(text).score
    assert score > 0
    assert SentimentAnalyzer(threshold=score / 2).analyze(text).label == "positive"
    assert SentimentAnalyzer(threshold=score * 2).analyze(text).label == "neutral"
