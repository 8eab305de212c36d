"""Train on one data set, evaluate on another: accuracy, macro F1, out-of-scope recall, speed."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from nlu.encoder import Encoder
from nlu.fine_tune import EncoderTuner
from nlu.folds import holdout_indices
from nlu.model import NLUConfig, NLUModel, Progress
from nlu.parse import Parse
from nlu.training_data import TrainingData


def split_holdout(
    data: TrainingData, fraction: float, seed: int = 13
) -> tuple[TrainingData, TrainingData]:
    """Per-intent stratified split: each intent keeps at least one training example."""
    kept, held = holdout_indices([e.intent for e in data.examples], fraction, seed)
    return (
        replace(data, examples=[data.examples[i] for i in kept]),
        replace(data, examples=[data.examples[i] for i in held]),
    )


def evaluate(  # noqa: PLR0917 (bot/cli.py passes oos_label and progress positionally)
    train: TrainingData,
    test: TrainingData,
    config: NLUConfig,
    encoder: Encoder,
    oos_label: str | None = None,
    progress: Progress | None = None,
    sweep: tuple[float, ...] = (),
    tuner: EncoderTuner | None = None,
) -> dict[str, Any]:
    """Metrics of a model trained on `train` and run on `test` (see README: NLU evaluation)."""
    in_scope = [e for e in train.examples if e.intent != oos_label]
    started = time.perf_counter()
    model = NLUModel.train(train, config, encoder, progress, oos_label, tuner)
    train_seconds = time.perf_counter() - started
    texts, gold = [e.text for e in test.examples], [e.intent for e in test.examples]
    started = time.perf_counter()
    parses = model.parse_many(texts)
    batch_seconds = time.perf_counter() - started
    predicted = [p.intent.name for p in parses]
    timings = _single_parse_ms(model, texts[:200])
    fallback = "nlu_fallback"
    expected = [fallback if g == oos_label else g for g in gold]
    in_scope_pairs = [(g, p) for g, p in zip(gold, predicted, strict=True) if g != oos_label]
    oos_pred = [p for g, p in zip(gold, predicted, strict=True) if g == oos_label]
    result: dict[str, Any] = {
        "examples_train": len(in_scope),
        "oos_examples_train": len(train.examples) - len(in_scope),
        "unlabelled_train": len(train.unlabelled),
        "pseudo_labelled_train": model.metadata["pseudo_labelled_examples"],
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
        "batch_msgs_per_s": round(len(texts) / max(batch_seconds, 1e-9), 1),
    }
    if sweep:
        result["by_threshold"] = {str(t): _at_threshold(parses, gold, oos_label, t) for t in sweep}
    return result


def _at_threshold(
    parses: list[Parse], gold: list[str], oos_label: str | None, threshold: float
) -> dict[str, float | None]:
    """In-scope accuracy and OOS recall had the model used `threshold` (above 1 / intents)."""
    in_scope_hits, in_scope, rejected, oos = 0, 0, 0, 0
    for parse, label in zip(parses, gold, strict=True):
        best = parse.intent_ranking[0]
        accepted = best.confidence >= threshold
        if label == oos_label:
            oos += 1
            rejected += not accepted
        else:
            in_scope += 1
            in_scope_hits += accepted and best.name == label
    return {
        "in_scope_accuracy": round(in_scope_hits / max(1, in_scope), 4),
        "oos_recall": round(rejected / oos, 4) if oos else None,
    }


def _single_parse_ms(model: NLUModel, texts: list[str]) -> list[float]:
    timings = []
    for text in texts or [""]:
        started = time.perf_counter()
        model.parse(text)
        timings.append((time.perf_counter() - started) * 1000)
    return timings
