"""Out-of-scope detection: a calibrated probability that the top intent is right.

The classifier's softmax says which intent is most likely, not whether the message belongs to any
intent. The detector looks at four signals of a prediction (top probability, its margin over the
runner-up, and cosine similarity to the nearest training example of the predicted intent and of
any intent) and maps them with a logistic regression fitted on held-out data to P(correct). The
held-out data are a validation fold of the training examples, the out-of-scope examples when the
training data has them, and scrambled copies of validation texts (gibberish is out of scope).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from nlu.encoder import Vectors

Matrix = npt.NDArray[np.float32]
MIN_BETA = 0.02


class Neighbours:
    """Training embeddings grouped by label, for nearest-example similarity per label."""

    def __init__(self, vectors: Vectors, label_index: npt.NDArray[np.int32], labels: int) -> None:
        order = np.argsort(label_index, kind="stable")
        self.vectors = vectors[order].astype(np.float32)
        self.label_index = label_index[order].astype(np.int32)
        starts = np.searchsorted(self.label_index, np.arange(labels))
        self._starts = starts
        self._present = np.bincount(self.label_index, minlength=labels) > 0

    def best_per_label(self, vectors: Vectors) -> Matrix:
        """Highest cosine similarity to a training example of each label (-1 for none)."""
        if len(self.vectors) == 0:
            return np.full((len(vectors), len(self._present)), -1.0, dtype=np.float32)
        similarity = vectors @ self.vectors.T
        best = np.maximum.reduceat(similarity, np.minimum(self._starts, len(self.vectors) - 1), 1)
        best[:, ~self._present] = -1.0
        result: Matrix = best.astype(np.float32)
        return result


def signals(probabilities: Matrix, nearest: Matrix) -> Matrix:
    """The detector's inputs, one row per message."""
    top2 = np.sort(probabilities, axis=1)[:, -2:] if probabilities.shape[1] > 1 else None
    top = probabilities.max(axis=1)
    margin = top - top2[:, 0] if top2 is not None else top
    predicted = probabilities.argmax(axis=1)
    nearest_predicted = nearest[np.arange(len(nearest)), predicted]
    columns = [np.log(np.clip(top, 1e-6, 1.0)), margin, nearest_predicted, nearest.max(axis=1)]
    result: Matrix = np.stack(columns, axis=1).astype(np.float32)
    return result


class OutOfScopeDetector:
    """P(the top intent is right) from `signals`; without calibration data, the top probability."""

    def __init__(self, weights: Matrix | None = None, bias: float = 0.0) -> None:
        self._weights = weights
        self._bias = bias

    @classmethod
    def fit(cls, features: Matrix, correct: npt.NDArray[np.bool_]) -> OutOfScopeDetector:
        if correct.all() or not correct.any():
            return cls()  # one class only: nothing to calibrate against
        model = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced")
        model.fit(features, correct)
        return cls(model.coef_[0].astype(np.float32), float(model.intercept_[0]))

    @property
    def calibrated(self) -> bool:
        return self._weights is not None

    def confidence(self, features: Matrix) -> Matrix:
        if self._weights is None:
            result: Matrix = np.exp(features[:, 0]).astype(np.float32)
            return result
        logits = features @ self._weights + self._bias
        calibrated: Matrix = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        return calibrated

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        if self._weights is None:
            return {}
        return {"weights": self._weights, "bias": np.array([self._bias], dtype=np.float32)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[Any]]) -> OutOfScopeDetector:
        if "weights" not in arrays:
            return cls()
        return cls(arrays["weights"].astype(np.float32), float(arrays["bias"][0]))


def scrambled(texts: list[str], seed: int = 13) -> list[str]:
    """Gibberish with the look of the given texts: the letters of each word shuffled."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible shuffle, not a secret)
    result = []
    for text in texts:
        words = []
        for word in text.split():
            letters = list(word)
            rng.shuffle(letters)
            words.append("".join(letters))
        result.append(" ".join(words))
    return result


def with_top(probabilities: Matrix, confidence: Matrix, steps: int = 40) -> Matrix:
    """Each row sharpened or flattened (p ** beta, renormalised) so its top equals `confidence`.

    The order of the intents is kept; a confidence below 1 / intents gives a nearly uniform row
    (beta stays above MIN_BETA so that the order still shows).
    """
    logs = np.log(np.clip(probabilities, 1e-12, 1.0)).astype(np.float64)
    below_top = logs - logs.max(axis=1, keepdims=True)  # <= 0, and 0 at the top
    low = np.full(len(logs), MIN_BETA)
    high = np.full(len(logs), 64.0)
    for _ in range(steps):
        beta = (low + high) / 2
        # The powered row's top is exp(0) / sum, so only the sum is needed at each step.
        too_sharp = 1.0 / np.exp(below_top * beta[:, None]).sum(axis=1) > confidence
        high = np.where(too_sharp, beta, high)
        low = np.where(too_sharp, low, beta)
    powered = np.exp(below_top * ((low + high) / 2)[:, None])
    result: Matrix = (powered / powered.sum(axis=1, keepdims=True)).astype(np.float32)
    return result
