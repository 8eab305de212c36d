"""The intent classifier on tiny hand-made vectors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from nlu.classifier import ClassifierConfig, IntentClassifier


def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


THREE = unit([1, 0.1, 0], [1, -0.1, 0], [0.1, 1, 0], [-0.1, 1, 0], [0, 0.1, 1], [0, -0.1, 1])
THREE_LABELS = ["greet", "greet", "refund", "refund", "shipping", "shipping"]
THREE_TEXTS = ["hi", "hello", "refund me", "money back", "ship it", "delivery"]
DENSE = ClassifierConfig(lexical=False)
LEXICAL = ClassifierConfig(lexical_min_examples=0)  # n-grams however few the examples


def blank(vectors: np.ndarray) -> list[str]:
    return [""] * len(vectors)


def test_predicts_the_cluster_of_each_vector() -> None:
    classifier = IntentClassifier.fit(THREE, THREE_TEXTS, THREE_LABELS, DENSE)
    assert classifier.labels == ["greet", "refund", "shipping"]
    assert all(type(label) is str for label in classifier.labels)
    probabilities = classifier.predict(unit([1, 0, 0], [0, 1, 0], [0, 0, 1]), blank(THREE[:3]))
    assert probabilities.shape == (3, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert [classifier.labels[i] for i in probabilities.argmax(axis=1)] == [
        "greet",
        "refund",
        "shipping",
    ]


def test_two_intents_give_the_same_probabilities_as_scikit_learn() -> None:
    vectors = unit([1, 0.2], [1, -0.2], [0.9, 0.5], [0.2, 1], [-0.2, 1], [0.5, 0.9])
    labels = ["no", "no", "no", "yes", "yes", "yes"]
    config = ClassifierConfig(c=2.0, lexical=False)
    classifier = IntentClassifier.fit(vectors, blank(vectors), labels, config)
    reference = LogisticRegression(C=config.c, max_iter=config.max_iter).fit(vectors, labels)
    queries = unit([1, 0], [0, 1], [0.7, 0.7], [0.3, 0.8])
    assert classifier.labels == ["no", "yes"]
    assert np.allclose(
        classifier.predict(queries, blank(queries)), reference.predict_proba(queries), atol=1e-4
    )


def test_a_smaller_c_gives_less_confident_predictions() -> None:
    strong = IntentClassifier.fit(THREE, THREE_TEXTS, THREE_LABELS, ClassifierConfig(c=100.0))
    weak = IntentClassifier.fit(THREE, THREE_TEXTS, THREE_LABELS, ClassifierConfig(c=0.01))
    query = unit([1, 0, 0])
    assert weak.predict(query, ["hi"]).max() < strong.predict(query, ["hi"]).max()


def test_needs_two_intents() -> None:
    with pytest.raises(ValueError, match="two intents"):
        IntentClassifier.fit(THREE[:2], ["hi", "yo"], ["greet", "greet"], ClassifierConfig())


def test_save_and_load_give_the_same_predictions(tmp_path: Path) -> None:
    classifier = IntentClassifier.fit(THREE, THREE_TEXTS, THREE_LABELS, DENSE)
    path = tmp_path / "classifier.npz"
    classifier.save(path)
    loaded = IntentClassifier.load(path)
    queries = unit([1, 1, 0], [0, 1, 1], [1, 0, 1])
    assert loaded.labels == classifier.labels
    assert np.array_equal(
        loaded.predict(queries, blank(queries)), classifier.predict(queries, blank(queries))
    )


def test_word_and_character_n_grams_separate_what_the_vectors_cannot() -> None:
    same = unit(*([[1.0, 0.0]] * 6))  # identical embeddings: only the words differ
    texts = [
        "cancel my card",
        "cancel card now",
        "please cancel",
        "top up",
        "top up wallet",
        "add money top up",
    ]
    labels = ["cancel", "cancel", "cancel", "top_up", "top_up", "top_up"]
    classifier = IntentClassifier.fit(same, texts, labels, LEXICAL)
    probabilities = classifier.predict(same[:2], ["cancel it", "top up please"])
    assert [classifier.labels[i] for i in probabilities.argmax(axis=1)] == ["cancel", "top_up"]
    dense = IntentClassifier.fit(same, texts, labels, DENSE)
    assert dense.predict(same[:1], ["cancel it"]).max() == pytest.approx(0.5, abs=1e-3)


def test_saved_n_gram_features_predict_as_before_without_pickle(tmp_path: Path) -> None:
    classifier = IntentClassifier.fit(THREE, THREE_TEXTS, THREE_LABELS, LEXICAL)
    path = tmp_path / "classifier.npz"
    classifier.save(path)
    with np.load(path, allow_pickle=False) as arrays:
        assert "lexical_char_vocabulary" in arrays.files
    queries, texts = unit([1, 1, 0], [0, 1, 1]), ["hello refund", "money delivery"]
    assert np.allclose(
        IntentClassifier.load(path).predict(queries, texts), classifier.predict(queries, texts)
    )


def test_n_grams_only_when_the_intents_have_enough_examples_on_average() -> None:
    config = ClassifierConfig(lexical_min_examples=3)
    few = IntentClassifier.fit(THREE, THREE_TEXTS, THREE_LABELS, config)  # 2 an intent
    assert "lexical_char_vocabulary" not in few.arrays()
    more = [*THREE_TEXTS, "hey", "refund please", "shipping cost"]
    vectors = np.vstack([THREE, THREE[::2]])
    enough = IntentClassifier.fit(vectors, more, [*THREE_LABELS, *THREE_LABELS[::2]], config)
    assert "lexical_char_vocabulary" in enough.arrays()
    off = replace(config, lexical=False)
    assert (
        "lexical_char_vocabulary"
        not in IntentClassifier.fit(
            vectors, more, [*THREE_LABELS, *THREE_LABELS[::2]], off
        ).arrays()
    )
