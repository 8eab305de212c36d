"""Train on one data set, evaluate on another: accuracy, macro F1, out-of-scope recall, speed."""

from __future__ import annotations

import random
import time
from dataclasses import replace

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from nlu.encoder import Encoder
from nlu.model import NLUConfig, NLUModel, Progress
from nlu.training_data import Example, TrainingData


def split_holdout(
    data: TrainingData, fraction: float, seed: int = 13
) -> tuple[TrainingData, TrainingData]:
    """Per-intent stratified split: each intent keeps at least one training example."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible shuffle, not a secret)
    train, test = replace(data, examples=[]), replace(data, examples=[])
    by_intent: dict[str, list[Example]] = {}
    for example in data.examples:
        by_intent.setdefault(example.intent, []).append(example)
    for examples in by_intent.values():
        shuffled = examples[:]
        rng.shuffle(shuffled)
        cut = min(len(shuffled) - 1, round(len(shuffled) * fraction))
        test.examples.extend(shuffled[:cut])
        train.examples.extend(shuffled[cut:])
    return train, test


def evaluate(  # noqa: PLR0917 (bot/cli.py passes oos_label and progress positionally)
    train: TrainingData,
    test: TrainingData,
    config: NLUConfig,
    encoder: Encoder,
    oos_label: str | None = None,
    progress: Progress | None = None,
) -> dict[str, float | int | None]:
    """Metrics of a model trained on `train` and run on `test` (see README: NLU evaluation)."""
    in_scope = replace(train, examples=[e for e in train.examples if e.intent != oos_label])
    started = time.perf_counter()
    model = NLUModel.train(in_scope, config, encoder, progress)
    train_seconds = time.perf_counter() - started
    texts, gold = [e.text for e in test.examples], [e.intent for e in test.examples]
    predicted = [p.intent.name for p in model.parse_many(texts)]
    timings = _single_parse_ms(model, texts[:200])
    fallback = "nlu_fallback"
    expected = [fallback if g == oos_label else g for g in gold]
    in_scope_pairs = [(g, p) for g, p in zip(gold, predicted, strict=True) if g != oos_label]
    oos_pred = [p for g, p in zip(gold, predicted, strict=True) if g == oos_label]
    return {
        "examples_train": len(in_scope.examples),
        "examples_test": len(texts),
        "accuracy": round(float(accuracy_score(expected, predicted)), 4),
        "macro_f1": round(float(f1_score(expected, predicted, average="macro")), 4),
        "in_scope_accuracy": round(
            sum(g == p for g, p in in_scope_pairs) / max(1, len(in_scope_pairs)), 4
        ),
        "oos_recall": round(sum(p == fallback for p in oos_pred) / len(oos_pred), 4)
        if oos_pred
        else None,
        "threshold": config.confidence_threshold,
        "train_seconds": round(train_seconds, 2),
        "parse_ms_p50": round(float(np.percentile(timings, 50)), 2),
        "parse_ms_p95": round(float(np.percentile(timings, 95)), 2),
    }


def _single_parse_ms(model: NLUModel, texts: list[str]) -> list[float]:
    timings = []
    for text in texts or [""]:
        started = time.perf_counter()
        model.parse(text)
        timings.append((time.perf_counter() - started) * 1000)
    return timings
