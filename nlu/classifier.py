"""Intent classifier: multinomial logistic regression over sentence embeddings and n-grams."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression

from nlu.encoder import Vectors
from nlu.features import LexicalFeatures
from nlu.npz import Arrays, load_arrays, prefixed, save_arrays, unprefixed

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ClassifierConfig:
    c: float = 10.0
    max_iter: int = 3000
    lexical: bool = True  # add TF-IDF word and character n-grams to the embeddings...
    # ...when the intents have at least this many examples on average. With fewer the n-grams
    # fit the few words each intent was said with: BANKING77 at 10 examples an intent gave
    # 80.7% with them and 84.4% without, at 50 the same, at 100 91.7% and 91.0% (README).
    lexical_min_examples: int = 50

    def as_dict(self) -> dict[str, float | int | bool]:
        return {
            "c": self.c,
            "max_iter": self.max_iter,
            "lexical": self.lexical,
            "lexical_min_examples": self.lexical_min_examples,
        }

    def uses_lexical(self, examples: int, intents: int) -> bool:
        return self.lexical and examples >= self.lexical_min_examples * intents


class IntentClassifier:
    """Softmax over intents; its weights are plain arrays so a saved model holds no pickle."""

    def __init__(
        self,
        labels: list[str],
        weights: Matrix,
        bias: Matrix,
        lexical: LexicalFeatures | None = None,
    ) -> None:
        self.labels = labels
        self._weights = weights  # one row per label: embedding columns, then n-gram columns
        self._bias = bias
        self._lexical = lexical

    @classmethod
    def fit(
        cls, vectors: Vectors, texts: list[str], labels: list[str], config: ClassifierConfig
    ) -> IntentClassifier:
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError("training data needs at least two intents")
        lexical = None
        if config.uses_lexical(len(texts), len(classes)):
            lexical = LexicalFeatures.fit(texts)
        model = LogisticRegression(C=config.c, max_iter=config.max_iter)
        model.fit(_design(vectors, texts, lexical), labels)
        weights, bias = model.coef_, model.intercept_
        if len(classes) == 2:  # scikit-learn stores one row for two classes: make it a softmax
            weights = np.vstack([-weights[0] / 2, weights[0] / 2])
            bias = np.array([-bias[0] / 2, bias[0] / 2])
        labels_ = [str(label) for label in model.classes_]  # numpy str_ would leak into parses
        return cls(labels_, weights.astype(np.float32), bias.astype(np.float32), lexical)

    def predict(self, vectors: Vectors, texts: list[str]) -> Matrix:
        """Probabilities, one row per text and one column per label."""
        dense = vectors.shape[1]
        logits = vectors @ self._weights[:, :dense].T + self._bias
        if self._lexical is not None:
            # In the weights' float32: with a float64 matrix scipy made a float64 copy of all
            # the n-gram weights on every call (2 ms for BANKING77's 22,000 n-grams, most of a
            # parse's scoring when a batch is one message).
            lexical = self._lexical.transform(texts).astype(np.float32)
            logits = logits + lexical @ self._weights[:, dense:].T
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities: Matrix = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return probabilities

    def arrays(self) -> Arrays:
        lexical = self._lexical.arrays() if self._lexical is not None else {}
        own = {"weights": self._weights, "bias": self._bias, "labels": np.array(self.labels)}
        return own | prefixed(lexical, "lexical_")

    def save(self, path: Path) -> None:
        save_arrays(path, self.arrays())

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        arrays = load_arrays(path)
        lexical_arrays = unprefixed(arrays, "lexical_")
        lexical = LexicalFeatures.from_arrays(lexical_arrays) if lexical_arrays else None
        labels = [str(x) for x in arrays["labels"]]
        return cls(labels, arrays["weights"], arrays["bias"], lexical)


def _design(vectors: Vectors, texts: list[str], lexical: LexicalFeatures | None) -> Any:
    if lexical is None:
        return vectors
    return csr_matrix(hstack([csr_matrix(vectors), lexical.transform(texts)]))
