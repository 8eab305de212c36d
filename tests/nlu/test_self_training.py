"""Self-training: unlabelled messages the model is surest of become examples of their intent."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from nlu.encoder import Encoder
from nlu.model import NLUConfig, NLUModel, data_fingerprint
from nlu.self_training import SelfTrainingConfig, pseudo_labelled
from nlu.training_data import Example
from tests.nlu.test_model import small_data

UNLABELLED = [
    "good evening to you",
    "hey, hello",
    "what does shipping to Portugal cost",
    "how many days until my parcel comes",
    "I would like a refund please",
    "refund the shoes I sent back",
    "/greet",  # a direct trigger: never an example
    "hi",  # already a labelled example
]


def test_pseudo_labelled_takes_the_surest_of_each_label_and_no_fallback() -> None:
    texts = ["a", "b", "c", "d", "e"]
    probabilities = np.array(
        [[0.9, 0.1], [0.8, 0.2], [0.95, 0.05], [0.3, 0.7], [0.45, 0.55]], dtype=np.float32
    )
    confidence = np.array([0.9, 0.8, 0.95, 0.7, 0.2], dtype=np.float32)
    chosen = pseudo_labelled(
        texts,
        probabilities,
        confidence,
        ["x", "y"],
        SelfTrainingConfig(per_intent=2),
        threshold=0.5,
    )
    # x: c and a (b is third); y: d (e is below the threshold)
    assert chosen == [Example("c", "x"), Example("a", "x"), Example("d", "y")]


@pytest.fixture(scope="module")
def config(encoder: Encoder) -> NLUConfig:
    rounds = SelfTrainingConfig(rounds=1, per_intent=2)
    return NLUConfig(encoder=encoder.name, confidence_threshold=0.3, self_training=rounds)


@pytest.fixture(scope="module")
def self_trained(encoder: Encoder, config: NLUConfig) -> NLUModel:
    return NLUModel.train(replace(small_data(), unlabelled=UNLABELLED), config, encoder)


def test_training_labels_the_surest_messages_and_learns_from_them(
    self_trained: NLUModel, encoder: Encoder, config: NLUConfig
) -> None:
    assert self_trained.metadata["unlabelled_messages"] == len(UNLABELLED)
    assert self_trained.metadata["pseudo_labelled_examples"] == 6  # two for each of 3 intents
    assert self_trained.metadata["examples"] == len(small_data().examples)
    plain = NLUModel.train(small_data(), config, encoder)
    assert plain.metadata["pseudo_labelled_examples"] == 0
    # what the last round took as examples, the self-trained model is surer of
    taken = self_trained.pseudo_labelled(UNLABELLED[:6])
    assert {e.intent for e in taken} == {"greet", "shipping_info", "refund_request"}
    for example in taken:
        before = plain.parse(example.text).intent
        after = self_trained.parse(example.text).intent
        assert after.name == before.name == example.intent
        assert after.confidence > before.confidence


def test_unlabelled_messages_are_part_of_the_data_fingerprint() -> None:
    plain = small_data()
    assert data_fingerprint(plain) == data_fingerprint(replace(plain, unlabelled=[]))
    with_some = replace(plain, unlabelled=["hello"])
    assert data_fingerprint(with_some) != data_fingerprint(plain)
    assert data_fingerprint(with_some) != data_fingerprint(replace(plain, unlabelled=["hi"]))


def test_no_rounds_leaves_the_unlabelled_messages_alone(
    encoder: Encoder, config: NLUConfig
) -> None:
    off = replace(config, self_training=SelfTrainingConfig(rounds=0))
    model = NLUModel.train(replace(small_data(), unlabelled=UNLABELLED), off, encoder)
    assert model.metadata["pseudo_labelled_examples"] == 0
    assert off.fingerprint() != config.fingerprint()


def test_progress_runs_once_from_start_to_end_over_all_rounds(
    encoder: Encoder, config: NLUConfig
) -> None:
    seen: list[float] = []
    data = replace(small_data(), unlabelled=UNLABELLED)
    NLUModel.train(data, config, encoder, lambda done, total: seen.append(done / total))
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    # the first training ends at a third, labelling the messages at two thirds, then training
    assert 1 / 3 in seen and 2 / 3 in seen
    assert seen.index(2 / 3) - seen.index(1 / 3) == 1  # one batch of messages to label


def test_a_message_sent_many_times_is_one_example(encoder: Encoder, config: NLUConfig) -> None:
    data = replace(small_data(), unlabelled=["good evening to you"] * 3)
    model = NLUModel.train(data, config, encoder)
    assert model.metadata["pseudo_labelled_examples"] == 1
