"""Predicted satisfaction for every conversation, rated or not.

A logistic model of P(rating >= 4) over what happened in the conversation. Its weights are plain
numbers a supervisor can read. Until a deployment has MIN_RATINGS rated conversations it uses the
documented PRIOR below; after that it learns the weights from the deployment's own ratings.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from scoring.conversations import ConversationRow
from scoring.quality import SATISFIED_MIN_RATING

MIN_RATINGS = 30
FEATURES = (
    "resolved",  # the conversation ended resolved (by the bot or a person)
    "handed_off",  # a person had to step in
    "abandoned",  # handed off but never resolved
    "wait_minutes_log",  # log(1 + minutes until a person first answered)
    "resolution_hours_log",  # log(1 + hours until the ticket was resolved)
    "sentiment_start",  # -1 .. 1
    "sentiment_end",  # -1 .. 1
    "messages_log",  # log(1 + customer messages): repeated questions, long back-and-forth
)
# The prior: resolution and a customer who ends in a better mood than they began predict a good
# rating; long waits, abandonment and long conversations predict a bad one.
PRIOR = {
    "intercept": 0.6,
    "resolved": 1.2,
    "handed_off": -0.3,
    "abandoned": -1.5,
    "wait_minutes_log": -0.5,
    "resolution_hours_log": -0.4,
    "sentiment_start": 0.3,
    "sentiment_end": 1.6,
    "messages_log": -0.3,
}


def features(row: ConversationRow) -> list[float]:
    wait = (row.first_response_s or 0.0) / 60 if row.handed_off else 0.0
    hours = (row.resolution_s or 0.0) / 3600
    return [
        float(row.resolved or not row.handed_off),
        float(row.handed_off),
        float(row.handed_off and not row.resolved),
        math.log1p(wait),
        math.log1p(hours),
        row.sentiment_start or 0.0,
        row.sentiment_end or 0.0,
        math.log1p(row.customer_messages),
    ]


@dataclass(frozen=True)
class Prediction:
    probability: float  # P(satisfied), 0 .. 1
    rating: float  # expected rating on the 1-5 scale: 1 + 4 * probability
    reasons: list[tuple[str, float]]  # feature -> its contribution to the log-odds, largest first


@dataclass(frozen=True)
class SatisfactionModel:
    weights: dict[str, float]
    learned_from: int  # rated conversations behind the weights; 0 means the prior

    def predict(self, row: ConversationRow) -> Prediction:
        contributions = self._contributions(row)
        probability = self._probability(contributions)
        reasons = sorted((c for c in contributions if abs(c[1]) > 0.05), key=lambda c: -abs(c[1]))
        return Prediction(round(probability, 4), round(1 + 4 * probability, 2), reasons)

    def probability(self, row: ConversationRow) -> float:
        """`predict(row).probability` without the reasons (a refit predicts every conversation)."""
        return round(self._probability(self._contributions(row)), 4)

    def _contributions(self, row: ConversationRow) -> list[tuple[str, float]]:
        values = features(row)
        return [(name, self.weights[name] * v) for name, v in zip(FEATURES, values, strict=True)]

    def _probability(self, contributions: list[tuple[str, float]]) -> float:
        logit = self.weights["intercept"] + sum(c for _, c in contributions)
        return 1 / (1 + math.exp(-logit))


# How each feature reads on a conversation's score page.
READABLE = {
    "resolved": "the conversation ended resolved",
    "handed_off": "a person had to step in",
    "abandoned": "handed to a person but never resolved",
    "wait_minutes_log": "the wait for a person's first answer",
    "resolution_hours_log": "the time until the ticket was resolved",
    "sentiment_start": "the customer's mood in their first message",
    "sentiment_end": "the customer's mood in their latest message",
    "messages_log": "how many messages the customer had to write",
}


@dataclass(frozen=True)
class Reason:
    feature: str
    label: str  # READABLE text
    value: float  # the feature's value for this conversation
    contribution: float  # weight x value: added to the log-odds of a good rating


def explain(model: SatisfactionModel, row: ConversationRow) -> list[Reason]:
    """Every feature's part in the prediction for `row`, the largest effect first."""
    reasons = [
        Reason(name, READABLE[name], round(v, 3), round(model.weights[name] * v, 3))
        for name, v in zip(FEATURES, features(row), strict=True)
    ]
    return sorted(reasons, key=lambda r: (-abs(r.contribution), r.feature))


def prior_model() -> SatisfactionModel:
    return SatisfactionModel(dict(PRIOR), 0)


def fit_model(rows: Sequence[ConversationRow]) -> SatisfactionModel:
    """Learn the weights from the rated conversations, or keep the prior when there are too few
    (or when every rating says the same)."""
    rated = [r for r in rows if r.rating is not None]
    labels = [int(r.rating >= SATISFIED_MIN_RATING) for r in rated if r.rating is not None]
    if len(rated) < MIN_RATINGS or len(set(labels)) < 2:
        return prior_model()
    model = _logistic(np.array([features(r) for r in rated]), np.array(labels))
    weights = {"intercept": float(model.intercept_[0])}
    weights.update({name: float(w) for name, w in zip(FEATURES, model.coef_[0], strict=True)})
    return SatisfactionModel(weights, len(rated))


def _logistic(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=1.0, max_iter=1000).fit(x, y)


def evaluate_model(
    rows: Sequence[ConversationRow], folds: int = 5, seed: int = 7
) -> dict[str, float | int | None]:
    """Cross-validated quality on the rated conversations: each is predicted by a model that did
    not see it. auc (satisfied or not), mae of the 1-5 rating, expected calibration error."""
    rated = [r for r in rows if r.rating is not None]
    ratings = np.array([r.rating for r in rated], dtype=float)
    labels = (ratings >= SATISFIED_MIN_RATING).astype(int)
    result: dict[str, float | int | None] = {
        "rated_conversations": len(rated),
        "auc": None,
        "mae": None,
        "calibration_error": None,
    }
    if len(rated) < max(folds * 2, 10) or len(set(labels.tolist())) < 2:
        return result
    x = np.array([features(r) for r in rated])
    probabilities = np.zeros(len(rated))
    splitter = StratifiedKFold(
        n_splits=min(folds, int(min(np.bincount(labels)))), shuffle=True, random_state=seed
    )
    for train, test in splitter.split(x, labels):
        probabilities[test] = _logistic(x[train], labels[train]).predict_proba(x[test])[:, 1]
    result["auc"] = round(float(roc_auc_score(labels, probabilities)), 4)
    result["mae"] = round(float(np.mean(np.abs(1 + 4 * probabilities - ratings))), 4)
    result["calibration_error"] = round(calibration_error(probabilities, labels), 4)
    return result


def calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |mean prediction - observed rate| per bin, weighted by size."""
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (probabilities >= low) & ((probabilities < high) | (high == 1.0))
        if inside.any():
            total += inside.sum() * abs(probabilities[inside].mean() - labels[inside].mean())
    return total / len(probabilities)
