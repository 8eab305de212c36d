"""The out-of-scope detector and its parts, on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pytest

from nlu.folds import holdout_indices
from nlu.out_of_scope import Neighbours, OutOfScopeDetector, scrambled, signals, with_top


def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_neighbours_give_the_best_similarity_per_label() -> None:
    vectors = unit([1, 0, 0], [0, 1, 0], [0.6, 0.8, 0])
    neighbours = Neighbours(vectors, np.array([1, 0, 1], dtype=np.int32), labels=3)
    best = neighbours.best_per_label(unit([1, 0, 0]))
    assert best[0, 0] == pytest.approx(0.0, abs=1e-6)  # only [0, 1, 0] has label 0
    assert best[0, 1] == pytest.approx(1.0, abs=1e-6)
    assert best[0, 2] == -1.0  # label 2 has no examples


def test_signals_are_log_top_margin_and_similarities() -> None:
    probabilities = np.array([[0.7, 0.2, 0.1]], dtype=np.float32)
    nearest = np.array([[0.9, 0.95, 0.1]], dtype=np.float32)
    row = signals(probabilities, nearest)[0]
    assert row == pytest.approx([np.log(0.7), 0.5, 0.9, 0.95], abs=1e-6)


def test_an_uncalibrated_detector_answers_the_top_probability() -> None:
    features = signals(np.array([[0.6, 0.4]], dtype=np.float32), np.zeros((1, 2), np.float32))
    assert OutOfScopeDetector().confidence(features)[0] == pytest.approx(0.6, abs=1e-6)
    only_right = OutOfScopeDetector.fit(features, np.array([True]))
    assert not only_right.calibrated


def test_a_calibrated_detector_trusts_what_looked_right_on_held_out_data() -> None:
    rng = np.random.default_rng(0)
    right = np.column_stack([rng.uniform(0.6, 1.0, 50), rng.uniform(0.5, 0.9, 50)])
    wrong = np.column_stack([rng.uniform(0.0, 0.5, 50), rng.uniform(0.0, 0.4, 50)])
    features = np.vstack([right, wrong]).astype(np.float32)
    features = np.column_stack([np.log(features[:, 0]), features, features[:, 1]])
    detector = OutOfScopeDetector.fit(features, np.array([True] * 50 + [False] * 50))
    confidence = detector.confidence(features)
    assert detector.calibrated
    assert confidence[:50].mean() > 0.8 > 0.2 > confidence[50:].mean()
    restored = OutOfScopeDetector.from_arrays(detector.arrays())
    assert np.allclose(restored.confidence(features), confidence)


def test_with_top_keeps_the_order_and_sets_the_top() -> None:
    probabilities = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]], dtype=np.float32)
    result = with_top(probabilities, np.array([0.9, 0.4], dtype=np.float32))
    assert result[:, :].sum(axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    assert result.max(axis=1) == pytest.approx([0.9, 0.4], abs=1e-4)
    assert (result.argsort(axis=1) == probabilities.argsort(axis=1)).all()
    flat = with_top(probabilities[:1], np.array([0.1], dtype=np.float32))
    assert flat[0] == pytest.approx([1 / 3] * 3, abs=0.01)
    assert (flat[0].argsort() == probabilities[0].argsort()).all()


def test_scrambled_shuffles_letters_within_words_reproducibly() -> None:
    texts = ["where is my parcel", "cancel the order"]
    result = scrambled(texts)
    assert result == scrambled(texts)
    for original, mixed in zip(texts, result, strict=True):
        assert [sorted(w) for w in mixed.split()] == [sorted(w) for w in original.split()]
    assert result != texts


def test_holdout_keeps_one_example_of_each_label_and_is_reproducible() -> None:
    labels = ["a"] * 10 + ["b"] * 3 + ["c"]
    kept, held = holdout_indices(labels, 0.3)
    assert (kept, held) == holdout_indices(labels, 0.3)
    assert sorted(kept + held) == list(range(len(labels)))
    assert [labels[i] for i in held].count("a") == 3
    assert [labels[i] for i in held].count("b") == 1
    assert "c" not in [labels[i] for i in held]
