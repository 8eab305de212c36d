"""Intent names as words: one more example each, and where fine-tuning starts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from nlu.encoder import Encoder
from nlu.intent_names import name_examples, names_of, words_of
from nlu.model import ModelMismatchError, NLUConfig, NLUModel
from tests.nlu.test_model import EXAMPLES, small_data


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("card_payment_fee_charged", "card payment fee charged"),
        ("OrderStatus", "order status"),
        ("getHTTPResponse", "get http response"),
        ("faq/returns", "faq returns"),
        ("mood-great", "mood great"),
        ("intent_17", "intent 17"),
        ("réclamation_délai", "réclamation délai"),
        ("greet", "greet"),
        ("__", ""),
    ],
)
def test_words_of_a_name(name: str, words: str) -> None:
    assert words_of(name) == words


def test_a_name_already_an_example_or_without_words_adds_nothing() -> None:
    intents = ["greet", "order_status", "order_status", "__", "OrderStatus", "track_parcel"]
    texts = ["Greet", "where is my order", "order please", "?", "where is it", "parcel"]
    names = names_of(intents)
    assert names == {
        "greet": "greet",
        "order_status": "order status",
        "OrderStatus": "order status",
        "track_parcel": "track parcel",
    }
    assert name_examples(names, texts) == {
        "order status": "order_status",
        "track parcel": "track_parcel",
    }


@pytest.fixture(scope="module")
def config(encoder: Encoder) -> NLUConfig:
    return NLUConfig(encoder=encoder.name, confidence_threshold=0.0)


def test_each_name_is_learnt_as_an_example(encoder: Encoder, config: NLUConfig) -> None:
    with_names = NLUModel.train(small_data(), config, encoder)
    without = NLUModel.train(small_data(), replace(config, intent_names=False), encoder)
    for intent in EXAMPLES:
        name = words_of(intent)
        assert with_names.parse(name).intent.name == intent
        assert _confidence(with_names, name, intent) > _confidence(without, name, intent)
    assert with_names.metadata["examples"] == without.metadata["examples"] == 18
    assert (
        with_names.metadata["intent_name_examples"],
        without.metadata["intent_name_examples"],
    ) == (3, 0)


def _confidence(model: NLUModel, text: str, intent: str) -> float:
    return next(s.confidence for s in model.parse(text).intent_ranking if s.name == intent)


def test_a_model_trained_with_names_does_not_load_without(
    encoder: Encoder, config: NLUConfig, tmp_path: Path
) -> None:
    NLUModel.train(small_data(), config, encoder).save(tmp_path, small_data())
    with pytest.raises(ModelMismatchError, match="intent names as examples True") as info:
        NLUModel.load(tmp_path, replace(config, intent_names=False), encoder)
    assert "intent names as examples False" in str(info.value)
