"""Scores a message: intent probabilities plus a calibrated confidence that the top one is right."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from nlu.classifier import ClassifierConfig, IntentClassifier
from nlu.encoder import Vectors
from nlu.npz import load_arrays, prefixed, save_arrays, unprefixed
from nlu.out_of_scope import Matrix, Neighbours, OutOfScopeDetector, signals, with_top

WEIGHTS = "classifier.npz"
OUT_OF_SCOPE = "out_of_scope.npz"


@dataclass(frozen=True)
class Calibration:
    """Held-out messages the detector learns from, with whether each counts as answerable."""

    vectors: Vectors
    texts: list[str]
    in_scope: list[bool]


class IntentScorer:
    def __init__(
        self, classifier: IntentClassifier, neighbours: Neighbours, detector: OutOfScopeDetector
    ) -> None:
        self.classifier = classifier
        self._neighbours = neighbours
        self._detector = detector

    @classmethod
    def fit(
        cls,
        vectors: Vectors,
        texts: list[str],
        intents: list[str],
        config: ClassifierConfig,
        detector: OutOfScopeDetector | None = None,
    ) -> IntentScorer:
        classifier = IntentClassifier.fit(vectors, texts, intents, config)
        index = {label: i for i, label in enumerate(classifier.labels)}
        label_index = np.array([index[intent] for intent in intents], dtype=np.int32)
        neighbours = Neighbours(vectors, label_index, len(classifier.labels))
        return cls(classifier, neighbours, detector or OutOfScopeDetector())

    def signals(self, vectors: Vectors, texts: list[str]) -> tuple[Matrix, Matrix]:
        probabilities = self.classifier.predict(vectors, texts)
        return probabilities, signals(probabilities, self._neighbours.best_per_label(vectors))

    def score(self, vectors: Vectors, texts: list[str]) -> tuple[Matrix, Matrix]:
        """(a ranking per text, the confidence that its top label is right).

        The ranking is the classifier's, sharpened or flattened so that its top is that
        confidence (or 1 / labels when the confidence is lower still).
        """
        probabilities, features = self.signals(vectors, texts)
        confidence = self._detector.confidence(features)
        if not self._detector.calibrated:
            return probabilities, confidence
        return with_top(probabilities, confidence), confidence

    def save(self, directory: Path) -> None:
        self.classifier.save(directory / WEIGHTS)
        neighbours = {
            "neighbour_vectors": self._neighbours.vectors,
            "neighbour_labels": self._neighbours.label_index,
        }
        save_arrays(
            directory / OUT_OF_SCOPE, neighbours | prefixed(self._detector.arrays(), "detector_")
        )

    @classmethod
    def load(cls, directory: Path) -> IntentScorer:
        classifier = IntentClassifier.load(directory / WEIGHTS)
        arrays = load_arrays(directory / OUT_OF_SCOPE)
        neighbours = Neighbours(
            arrays["neighbour_vectors"], arrays["neighbour_labels"], len(classifier.labels)
        )
        detector = OutOfScopeDetector.from_arrays(unprefixed(arrays, "detector_"))
        return cls(classifier, neighbours, detector)


def calibrate(
    train: tuple[Vectors, list[str], list[str]],
    held: tuple[Vectors, list[str], list[str]],
    extra: Calibration,
    config: ClassifierConfig,
) -> OutOfScopeDetector:
    """Fit a probe on `train`, then learn when its top intent is right on `held` and `extra`."""
    if not held[1]:
        return OutOfScopeDetector()
    probe = IntentScorer.fit(*train, config)
    vectors = np.vstack([held[0], extra.vectors]) if extra.texts else held[0]
    probabilities, features = probe.signals(vectors, held[1] + extra.texts)
    predicted = [probe.classifier.labels[i] for i in probabilities.argmax(axis=1)]
    right = [p == gold for p, gold in zip(predicted, held[2], strict=False)]
    correct: npt.NDArray[np.bool_] = np.array(right + extra.in_scope, dtype=bool)
    return OutOfScopeDetector.fit(features, correct)
