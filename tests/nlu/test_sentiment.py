"""Per-message sentiment labels and scores."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.components import nlu_config
from bot.settings import ConfigError, load_settings
from nlu.sentiment import SentimentAnalyzer, SentimentBands

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_bands_decide_what_counts_as_neutral() -> None:
    text = "the delivery was okay"
    score = SentimentAnalyzer().analyze(text).score
    assert score > 0
    assert SentimentAnalyzer(SentimentBands(positive_at=score)).analyze(text).label == "positive"
    wider = SentimentBands(positive_at=score + 0.01)
    assert SentimentAnalyzer(wider).analyze(text).label == "neutral"
    negative = SentimentBands(negative_at=score, positive_at=score + 0.01)
    assert SentimentAnalyzer(negative).analyze(text).label == "negative"


@pytest.mark.parametrize(("negative_at", "positive_at"), [(0.1, 0.1), (0.2, -0.2), (-1.5, 0.5)])
def test_bands_out_of_order_are_refused(negative_at: float, positive_at: float) -> None:
    with pytest.raises(ValueError, match="negative_at < positive_at"):
        SentimentBands(negative_at, positive_at)


def test_config_yml_bands_reach_the_parse() -> None:
    settings = load_settings(ROOT / "config.yml")
    assert nlu_config(settings).sentiment == SentimentBands(-0.05, 0.4)
    # VADER scores "please" 0.32: a polite request, which the configured band keeps neutral
    text = "Please send me a copy of my invoice."
    assert SentimentAnalyzer().analyze(text).label == "positive"
    assert SentimentAnalyzer(nlu_config(settings).sentiment).analyze(text).label == "neutral"


def test_config_yml_bands_out_of_order_stop_start_up(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    data["nlu"]["sentiment"] = {"negative_at": 0.3, "positive_at": 0.2}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"nlu\.sentiment: .*negative_at \(0\.3\) must be below"):
        load_settings(path)


def test_the_benchmark_data_is_labelled_and_balanced() -> None:
    with (ROOT / "benchmarks/data/sentiment_support.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    labels = Counter(row["label"] for row in rows)
    assert set(labels) == {"negative", "neutral", "positive"}
    assert 150 <= len(rows) <= 200
    assert min(labels.values()) >= 55
    assert len({row["text"] for row in rows}) == len(rows)
