"""Intent classifier: multinomial logistic regression over sentence embeddings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from nlu.encoder import Vectors


@dataclass(frozen=True)
class ClassifierConfig:
    c: float = 4.0
    max_iter: int = 2000

    def as_dict(self) -> dict[str, float | int]:
        return {"c": self.c, "max_iter": self.max_iter}


class IntentClassifier:
    """Softmax over intents; its weights are plain arrays so a saved model holds no pickle."""

    def __init__(
        self, labels: list[str], weights: npt.NDArray[np.float32], bias: npt.NDArray[np.float32]
    ) -> None:
        self.labels = labels
        self._weights = weights
        self._bias = bias

    @classmethod
    def fit(cls, vectors: Vectors, labels: list[str], config: ClassifierConfig) -> IntentClassifier:
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError("training data needs at least two intents")
        model = LogisticRegression(C=config.c, max_iter=config.max_iter)
        model.fit(vectors, labels)
        weights, bias = model.coef_, model.intercept_
        if len(classes) == 2:  # scikit-learn stores one row for two classes: make it a softmax
            weights = np.vstack([-weights[0] / 2, weights[0] / 2])
            bias = np.array([-bias[0] / 2, bias[0] / 2])
        labels_ = [str(label) for label in model.classes_]  # numpy str_ would leak into parses
        return cls(labels_, weights.astype(np.float32), bias.astype(np.float32))

    def predict(self, vectors: Vectors) -> npt.NDArray[np.float32]:
        """Probabilities, one row per vector and one column per label."""
        logits: npt.NDArray[np.float32] = vectors @ self._weights.T + self._bias
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities: npt.NDArray[np.float32] = exp / exp.sum(axis=1, keepdims=True)
        return probabilities.astype(np.float32)

    def save(self, path: Path) -> None:
        np.savez(path, weights=self._weights, bias=self._bias, labels=np.array(self.labels))

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        with np.load(path, allow_pickle=False) as arrays:
            return cls([str(x) for x in arrays["labels"]], arrays["weights"], arrays["bias"])
