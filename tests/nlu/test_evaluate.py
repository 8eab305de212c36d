"""Hold-out splits and the evaluation metrics, out-of-scope recall included."""

from __future__ import annotations

from collections import Counter

import pytest

from nlu.encoder import Encoder
from nlu.evaluate import evaluate, split_holdout
from nlu.model import NLUConfig, NLUModel
from nlu.training_data import Example, TrainingData


def sized_data(sizes: dict[str, int]) -> TrainingData:
    return TrainingData(
        examples=[
            Example(f"{intent} {i}", intent) for intent, n in sizes.items() for i in range(n)
        ],
        synonyms={"uk": "United Kingdom"},
    )


SIZES = {"one": 1, "two": 2, "five": 5, "ten": 10, "twenty": 20}


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.9])
def test_split_holdout_is_stratified_and_keeps_a_training_example(fraction: float) -> None:
    data = sized_data(SIZES)
    train, test = split_holdout(data, fraction, seed=7)
    train_counts = Counter(e.intent for e in train.examples)
    test_counts = Counter(e.intent for e in test.examples)
    for intent, size in SIZES.items():
        assert train_counts[intent] >= 1
        assert train_counts[intent] + test_counts[intent] == size
        assert test_counts[intent] == min(size - 1, round(size * fraction))
    assert sorted(e.text for e in train.examples + test.examples) == sorted(
        e.text for e in data.examples
    )
    assert not {e.text for e in train.examples} & {e.text for e in test.examples}


def test_split_holdout_keeps_the_rules_on_both_sides() -> None:
    train, test = split_holdout(sized_data(SIZES), 0.3)
    assert train.synonyms == test.synonyms == {"uk": "United Kingdom"}


def test_split_holdout_is_deterministic_for_a_seed() -> None:
    data = sized_data(SIZES)
    first = split_holdout(data, 0.3, seed=5)
    again = split_holdout(data, 0.3, seed=5)
    assert first == again
    others = [split_holdout(data, 0.3, seed=s)[1].examples for s in (6, 7, 8)]
    assert any(o != first[1].examples for o in others)


def test_split_holdout_does_not_change_the_input() -> None:
    data = sized_data(SIZES)
    before = list(data.examples)
    split_holdout(data, 0.5)
    assert data.examples == before


IN_SCOPE = {
    "greet": ["hi", "hello", "good morning", "hey there", "hiya", "good evening"],
    "shipping_info": [
        "how long does delivery take",
        "how much is shipping to France",
        "do you ship to Spain",
        "when will my parcel arrive",
        "what are your shipping costs",
        "is delivery free",
    ],
    "refund_request": [
        "I want my money back",
        "please refund my order",
        "how do I get a refund",
        "refund me for the broken jacket",
        "give me a refund",
        "when will I receive my refund",
    ],
}
TEST_IN_SCOPE = [
    ("hello there", "greet"),
    ("how many days does shipping take", "shipping_info"),
    ("I would like a refund please", "refund_request"),
]
TEST_OOS = [
    "what is the boiling point of mercury",
    "who won the football world cup in 1998",
    "recommend a good pizza recipe",
]

KEYS = {
    "examples_train",
    "examples_test",
    "oos_examples_train",
    "unlabelled_train",
    "pseudo_labelled_train",
    "accuracy",
    "macro_f1",
    "in_scope_accuracy",
    "oos_recall",
    "threshold",
    "train_seconds",
    "parse_ms_p50",
    "parse_ms_p95",
    "batch_msgs_per_s",
}


def oos_train() -> TrainingData:
    examples = [Example(t, intent) for intent, texts in IN_SCOPE.items() for t in texts]
    examples += [Example("tell me a joke", "oos"), Example("what is the weather", "oos")]
    return TrainingData(examples=examples)


def oos_test() -> TrainingData:
    return TrainingData(
        examples=[Example(t, i) for t, i in TEST_IN_SCOPE] + [Example(t, "oos") for t in TEST_OOS]
    )


def test_evaluate_returns_the_documented_keys(encoder: Encoder) -> None:
    config = NLUConfig(encoder=encoder.name, confidence_threshold=0.0)
    train = TrainingData(
        examples=[Example(t, intent) for intent, texts in IN_SCOPE.items() for t in texts]
    )
    test = TrainingData(examples=[Example(t, i) for t, i in TEST_IN_SCOPE])
    result = evaluate(train, test, config, encoder)
    assert set(result) == KEYS
    assert result["examples_train"] == len(train.examples)
    assert result["oos_examples_train"] == 0
    assert result["unlabelled_train"] == result["pseudo_labelled_train"] == 0
    assert result["examples_test"] == len(TEST_IN_SCOPE)
    assert result["oos_recall"] is None
    assert result["threshold"] == 0.0
    assert result["accuracy"] == result["in_scope_accuracy"]
    assert 0.0 <= result["macro_f1"] <= 1.0  # type: ignore[operator]
    assert result["parse_ms_p50"] <= result["parse_ms_p95"]  # type: ignore[operator]


def test_oos_recall_counts_out_of_scope_examples_rejected(encoder: Encoder) -> None:
    config = NLUConfig(encoder=encoder.name, confidence_threshold=0.4)
    result = evaluate(oos_train(), oos_test(), config, encoder, oos_label="oos")

    in_scope = [e for e in oos_train().examples if e.intent != "oos"]
    model = NLUModel.train(oos_train(), config, encoder, oos_label="oos")
    rejected = sum(model.parse(t).is_fallback for t in TEST_OOS)
    correct = sum(model.parse(t).intent.name == i for t, i in TEST_IN_SCOPE)

    assert result["examples_train"] == len(in_scope)  # oos examples calibrate, not train
    assert result["oos_examples_train"] == 2
    assert result["examples_test"] == len(TEST_IN_SCOPE) + len(TEST_OOS)
    assert result["oos_recall"] == round(rejected / len(TEST_OOS), 4)
    assert result["in_scope_accuracy"] == round(correct / len(TEST_IN_SCOPE), 4)
    assert result["accuracy"] == round(
        (rejected + correct) / (len(TEST_IN_SCOPE) + len(TEST_OOS)), 4
    )


def test_a_threshold_above_every_confidence_rejects_everything(encoder: Encoder) -> None:
    config = NLUConfig(encoder=encoder.name, confidence_threshold=1.0)
    result = evaluate(oos_train(), oos_test(), config, encoder, oos_label="oos")
    assert result["oos_recall"] == 1.0
    assert result["in_scope_accuracy"] == 0.0
    assert result["accuracy"] == round(len(TEST_OOS) / len(oos_test().examples), 4)


def test_a_zero_threshold_rejects_nothing(encoder: Encoder) -> None:
    config = NLUConfig(encoder=encoder.name, confidence_threshold=0.0)
    result = evaluate(oos_train(), oos_test(), config, encoder, oos_label="oos")
    assert result["oos_recall"] == 0.0


def test_a_sweep_reports_other_thresholds_of_the_same_model(encoder: Encoder) -> None:
    config = NLUConfig(encoder=encoder.name, confidence_threshold=0.4)
    result = evaluate(oos_train(), oos_test(), config, encoder, "oos", sweep=(0.4, 0.0, 1.0))
    curve = result["by_threshold"]
    assert curve["0.4"] == {
        "in_scope_accuracy": result["in_scope_accuracy"],
        "oos_recall": result["oos_recall"],
    }
    assert curve["0.0"]["oos_recall"] == 0.0
    assert curve["1.0"]["in_scope_accuracy"] == 0.0
