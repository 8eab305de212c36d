"""Self-training: customer messages nobody labelled teach the intents too.

A support team has few labelled examples an intent and many messages its customers sent. After
training on the labelled ones, each round takes, for every intent, the unlabelled messages the
model is surest belong to it, adds them as examples of it and trains again (fine-tuning the
encoder again when the model fine-tunes). BANKING77 with 10 labelled examples an intent and the
rest of its training messages unlabelled: README "Measured" (`benchmarks/nlu.py`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nlu.training_data import Example


@dataclass(frozen=True)
class SelfTrainingConfig:
    rounds: int = 2  # of labelling and training again; 0: unlabelled messages are not used
    per_intent: int = 60  # messages taken for each intent a round, the surest first
    epochs: float = 1.0  # of fine-tuning in each round after the first (when fine-tuning)

    def as_dict(self) -> dict[str, float | int]:
        return {"rounds": self.rounds, "per_intent": self.per_intent, "epochs": self.epochs}


def pseudo_labelled(
    texts: list[str],
    probabilities: npt.NDArray[np.floating],
    confidence: npt.NDArray[np.floating],
    labels: list[str],
    config: SelfTrainingConfig,
    *,
    threshold: float,
) -> list[Example]:
    """For each label, the `config.per_intent` texts whose top label it is with the highest
    confidence, as examples of it; texts below `threshold` (fallback) are left out."""
    top = probabilities.argmax(axis=1)
    order = np.argsort(-confidence, kind="stable")
    taken: dict[int, int] = {}
    chosen: list[Example] = []
    for row in order:
        if confidence[row] < threshold:
            break
        label = int(top[row])
        if taken.get(label, 0) < config.per_intent:
            taken[label] = taken.get(label, 0) + 1
            chosen.append(Example(texts[row], labels[label]))
    return chosen
