"""Training, saving, loading and parsing with the real sentence encoder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nlu.classifier import ClassifierConfig
from nlu.encoder import Encoder
from nlu.model import ModelMismatchError, NLUConfig, NLUModel
from nlu.parse import FALLBACK_INTENT, Parse
from nlu.training_data import Example, TrainingData

EXAMPLES = {
    "greet": ["hi", "hello", "good morning", "hey there", "hello, anyone there?", "hiya"],
    "shipping_info": [
        "how long does delivery take",
        "how much is shipping to France",
        "do you ship to Spain",
        "when will my parcel arrive in Italy",
        "what are your shipping costs",
        "is delivery free",
    ],
    "refund_request": [
        "I want my money back",
        "please refund my order",
        "how do I get a refund",
        "I was charged twice, refund me",
        "give me a refund for the jacket",
        "when will I receive my refund",
    ],
}


def small_data() -> TrainingData:
    return TrainingData(
        examples=[Example(text, intent) for intent, texts in EXAMPLES.items() for text in texts],
        synonyms={"deutschland": "Germany"},
        regexes={"order_number": [r"\bAF-\d{6}\b"]},
        lookups={"country": ["France", "Spain", "Italy", "Germany", "Deutschland"]},
    )


@pytest.fixture(scope="module")
def config(encoder: Encoder) -> NLUConfig:
    return NLUConfig(encoder=encoder.name, confidence_threshold=0.3)


@pytest.fixture(scope="module")
def model(encoder: Encoder, config: NLUConfig) -> NLUModel:
    return NLUModel.train(small_data(), config, encoder)


@pytest.fixture(scope="module")
def saved(model: NLUModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model") / "nlu"
    model.save(directory, small_data())
    return directory


QUERIES = ["hello!", "how long does shipping to Deutschland take?", "refund my order AF-123456"]


def test_train_then_parse(model: NLUModel) -> None:
    assert model.intents == set(EXAMPLES)
    assert [model.parse(q).intent.name for q in QUERIES] == [
        "greet",
        "shipping_info",
        "refund_request",
    ]


def test_parse_gives_a_sorted_ranking_of_every_intent(model: NLUModel) -> None:
    parse = model.parse("how much does delivery cost?")
    confidences = [s.confidence for s in parse.intent_ranking]
    assert {s.name for s in parse.intent_ranking} == set(EXAMPLES)
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) == pytest.approx(1.0, abs=1e-4)
    assert parse.intent == parse.intent_ranking[0]


def test_parse_finds_entities_with_synonyms_and_regexes(model: NLUModel) -> None:
    shipping = model.parse(QUERIES[1])
    assert [(e.entity, e.value) for e in shipping.entities] == [("country", "Germany")]
    refund = model.parse(QUERIES[2])
    assert [(e.entity, e.value) for e in refund.entities] == [("order_number", "AF-123456")]


def test_parse_many_matches_parse(model: NLUModel) -> None:
    texts = [QUERIES[0], "/greet", QUERIES[1], QUERIES[2]]
    batch = model.parse_many(texts)
    assert [p.text for p in batch] == texts
    for text, parse in zip(texts, batch, strict=True):
        single = model.parse(text)
        assert parse.intent.name == single.intent.name
        assert parse.intent.confidence == pytest.approx(single.intent.confidence, abs=1e-5)
    assert model.parse_many([]) == []


def test_metadata_describes_the_training(model: NLUModel, config: NLUConfig) -> None:
    assert model.metadata["config_fingerprint"] == config.fingerprint()
    assert model.metadata["intents"] == sorted(EXAMPLES)
    assert model.metadata["examples"] == len(small_data().examples)


def test_save_and_load_give_the_same_ranking(
    model: NLUModel, saved: Path, config: NLUConfig, encoder: Encoder
) -> None:
    loaded = NLUModel.load(saved, config, encoder)
    assert loaded.intents == model.intents
    assert loaded.metadata == json.loads(json.dumps(model.metadata))
    for query in QUERIES:
        before, after = model.parse(query), loaded.parse(query)
        assert_same_ranking(before, after, tolerance=1e-6)
        assert after.entities == before.entities


def assert_same_ranking(before: Parse, after: Parse, tolerance: float) -> None:
    """The same intents in the same order, each with its confidence within `tolerance`."""
    assert [s.name for s in after.intent_ranking] == [s.name for s in before.intent_ranking]
    for a, b in zip(after.intent_ranking, before.intent_ranking, strict=True):
        assert a.confidence == pytest.approx(b.confidence, abs=tolerance)


def test_load_with_another_classifier_config_fails(
    saved: Path, config: NLUConfig, encoder: Encoder
) -> None:
    other = replace(config, classifier=ClassifierConfig(c=config.classifier.c / 4))
    with pytest.raises(ModelMismatchError) as info:
        NLUModel.load(saved, other, encoder)
    message = str(info.value)
    assert str(saved) in message
    assert f"classifier {config.classifier.as_dict()}" in message
    assert f"classifier {other.classifier.as_dict()}" in message
    assert "helpline train" in message


def test_load_with_another_encoder_name_fails(
    saved: Path, config: NLUConfig, encoder: Encoder
) -> None:
    other = replace(config, encoder="some-other-encoder")
    with pytest.raises(ModelMismatchError) as info:
        NLUModel.load(saved, other, encoder)
    message = str(info.value)
    assert repr(config.encoder) in message
    assert "'some-other-encoder'" in message
    assert "helpline train" in message


def test_load_of_another_format_version_fails(
    saved: Path, config: NLUConfig, encoder: Encoder, tmp_path: Path
) -> None:
    copy = tmp_path / "old"
    copy.mkdir()
    for file in saved.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    metadata = json.loads((copy / "metadata.json").read_text(encoding="utf-8"))
    metadata["format_version"] = 0
    (copy / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ModelMismatchError, match="format"):
        NLUModel.load(copy, config, encoder)


def test_load_from_a_missing_directory(tmp_path: Path, config: NLUConfig, encoder: Encoder) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="helpline train") as info:
        NLUModel.load(missing, config, encoder)
    assert str(missing) in str(info.value)


def test_direct_trigger_with_entities(model: NLUModel) -> None:
    text = '/shipping_info{"country": "Germany", "order_number": "AF-123456"}'
    parse = model.parse(text)
    assert parse.intent.name == "shipping_info"
    assert parse.intent.confidence == 1.0
    assert [s.name for s in parse.intent_ranking] == ["shipping_info"]
    assert {(e.entity, e.value) for e in parse.entities} == {
        ("country", "Germany"),
        ("order_number", "AF-123456"),
    }
    assert not parse.is_fallback


def test_direct_trigger_without_entities(model: NLUModel) -> None:
    parse = model.parse("/greet")
    assert (parse.intent.name, parse.intent.confidence, parse.entities) == ("greet", 1.0, [])


def test_direct_trigger_with_broken_json_keeps_the_intent(model: NLUModel) -> None:
    parse = model.parse('/refund_request{"order_number": }')
    assert (parse.intent.name, parse.intent.confidence, parse.entities) == (
        "refund_request",
        1.0,
        [],
    )


def test_a_slash_inside_a_message_is_not_a_trigger(model: NLUModel) -> None:
    assert model.parse("do you ship to France/Spain?").intent.confidence < 1.0


def test_below_the_threshold_the_intent_is_fallback_but_the_ranking_is_kept(
    model: NLUModel, saved: Path, config: NLUConfig, encoder: Encoder
) -> None:
    query = "what about the thing I asked yesterday"
    best = model.parse(query).intent_ranking[0]
    strict = NLUModel.load(
        saved, replace(config, confidence_threshold=(best.confidence + 1) / 2), encoder
    )
    lenient = NLUModel.load(
        saved, replace(config, confidence_threshold=best.confidence / 2), encoder
    )

    rejected = strict.parse(query)
    assert rejected.is_fallback
    assert rejected.intent.name == FALLBACK_INTENT
    assert rejected.intent.confidence == strict.config.confidence_threshold
    assert rejected.intent_ranking[0].name == best.name
    assert rejected.intent_ranking[0].confidence == pytest.approx(best.confidence, abs=1e-6)

    accepted = lenient.parse(query)
    assert not accepted.is_fallback
    assert accepted.intent.name == best.name


def test_as_rasa_has_the_rasa_keys_plus_ours(model: NLUModel) -> None:
    result = model.parse("I am very angry, please refund my order AF-123456").as_rasa()
    assert set(result) == {"text", "intent", "intent_ranking", "entities", "sentiment", "language"}
    assert result["text"] == "I am very angry, please refund my order AF-123456"
    assert set(result["intent"]) == {"name", "confidence"}
    assert result["intent"]["name"] == "refund_request"
    assert result["intent_ranking"][0] == result["intent"]
    assert result["entities"][0]["entity"] == "order_number"
    assert set(result["entities"][0]) == {"entity", "value", "start", "end", "extractor"}
    assert result["sentiment"]["label"] == "negative"
    assert result["language"] == "en"
    assert json.loads(json.dumps(result)) == result


def test_language_falls_back_to_the_configured_one(
    saved: Path, config: NLUConfig, encoder: Encoder
) -> None:
    dutch = NLUModel.load(saved, replace(config, language="nl"), encoder)
    assert dutch.parse("AF-123456").language == "nl"
    assert dutch.parse("how long does it take?").language == "en"


# --- the demo bot's model --------------------------------------------------------------------


def test_demo_shipping_question(demo_nlu: NLUModel) -> None:
    parse = demo_nlu.parse("how long does shipping to Germany take?")
    assert parse.intent.name == "shipping_info"
    assert ("country", "Germany") in [(e.entity, e.value) for e in parse.entities]


def test_demo_double_charge(demo_nlu: NLUModel) -> None:
    parse = demo_nlu.parse("I was charged twice, I want a refund")
    assert parse.intent.name in {"billing_issue", "refund_request"}


def test_demo_handoff(demo_nlu: NLUModel) -> None:
    assert demo_nlu.parse("let me talk to a person").intent.name == "human_handoff"


def test_load_with_another_validation_fraction_fails(
    saved: Path, config: NLUConfig, encoder: Encoder
) -> None:
    with pytest.raises(ModelMismatchError, match=r"validation fraction 0\.25"):
        NLUModel.load(saved, replace(config, validation_fraction=0.25), encoder)


def test_the_saved_model_is_plain_arrays_and_json(saved: Path) -> None:
    assert {p.name for p in saved.iterdir()} == {
        "metadata.json",
        "training_data.json",
        "classifier.npz",
        "out_of_scope.npz",
    }
    for name in ("classifier.npz", "out_of_scope.npz"):
        with np.load(saved / name, allow_pickle=False) as arrays:
            assert all(arrays[key].dtype != object for key in arrays.files)


def test_fallback_is_calibrated_on_held_out_examples(model: NLUModel) -> None:
    assert model.metadata["fallback_calibrated"] is True
    assert model.metadata["out_of_scope_examples"] == 0
    gibberish = model.parse("qwzx blorft vemmick").intent_ranking[0].confidence
    assert all(gibberish < model.parse(query).intent.confidence for query in QUERIES)


@pytest.mark.parametrize("text", ["qwzx blorft vemmick", "zzgrumph plover ytt", "asdf"])
def test_demo_gibberish_is_fallback(demo_nlu: NLUModel, text: str) -> None:
    assert demo_nlu.parse(text).is_fallback


def test_out_of_scope_examples_teach_the_fallback(encoder: Encoder, config: NLUConfig) -> None:
    off_topic = ["tell me a joke", "what is the weather like", "who is the president"]
    more = ["sing me a song", "what's the capital of Peru", "play some music", "how tall is K2"]
    data = small_data()
    examples = data.examples + [Example(t, "oos") for t in off_topic + more]
    with_oos = NLUModel.train(replace(data, examples=examples), config, encoder, oos_label="oos")
    assert "oos" not in with_oos.intents
    assert with_oos.metadata["out_of_scope_examples"] == len(off_topic + more)
    assert with_oos.parse("tell me a funny joke").is_fallback
    assert with_oos.parse("please refund my order").intent.name == "refund_request"


def test_parse_encoded_refuses_a_wrong_number_of_rows(model: NLUModel, encoder: Encoder) -> None:
    assert not model.fine_tuned  # its intents come from the vectors it is given
    with pytest.raises(ValueError, match="2 texts need vectors, but 1 rows"):
        model.parse_encoded(["hello", "bye"], encoder.encode(["hello"]))
