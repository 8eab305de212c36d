"""Predicted satisfaction: the prior, learning a known relationship back from generated ratings,
honest cross-validated figures, and readable reasons."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import numpy as np

from scoring.conversations import ConversationRow
from scoring.satisfaction import (
    MIN_RATINGS,
    PRIOR,
    calibration_error,
    evaluate_model,
    fit_model,
    prior_model,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def generated(n: int, seed: int = 3) -> list[ConversationRow]:
    """Conversations whose ratings follow a known rule: resolution and a happy last message make
    a good rating likely, a long wait makes it unlikely."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        handed = rng.random() < 0.6
        resolved = rng.random() < 0.7
        wait_s = rng.expovariate(1 / 600) if handed else None
        end = rng.uniform(-1, 1)
        logit = -0.5 + 2.0 * resolved + 2.5 * end - 0.8 * math.log1p((wait_s or 0) / 60)
        satisfied = rng.random() < 1 / (1 + math.exp(-logit))
        rating = rng.choice([4, 5]) if satisfied else rng.choice([1, 2, 3])
        rows.append(
            ConversationRow(
                i,
                T0,
                handed_off=handed,
                resolved=resolved,
                first_response_s=wait_s,
                sentiment_end=end,
                sentiment_start=0.0,
                customer_messages=2,
                rating=rating,
            )
        )
    return rows


def test_few_ratings_keep_the_documented_prior() -> None:
    model = fit_model(generated(MIN_RATINGS - 1))
    assert model.learned_from == 0 and model.weights == PRIOR


def test_the_model_recovers_the_relationship_behind_the_ratings() -> None:
    model = fit_model(generated(1500))
    assert model.learned_from == 1500
    weights = model.weights
    assert weights["sentiment_end"] > 1.5
    assert weights["wait_minutes_log"] < -0.3
    assert weights["resolved"] > 1.0
    happy = ConversationRow(1, T0, resolved=True, sentiment_end=0.9, customer_messages=2)
    angry = ConversationRow(
        2, T0, handed_off=True, first_response_s=3600, sentiment_end=-0.9, customer_messages=6
    )
    assert model.predict(happy).probability > 0.8 > 0.2 > model.predict(angry).probability


def test_cross_validated_figures_are_honest_and_good_on_learnable_data() -> None:
    result = evaluate_model(generated(1000))
    assert result["rated_conversations"] == 1000
    assert result["auc"] is not None and result["auc"] > 0.8
    assert result["calibration_error"] is not None and result["calibration_error"] < 0.08
    assert result["mae"] is not None and 0.5 < result["mae"] < 1.6
    noise = [
        ConversationRow(r.conversation_id, T0, rating=r.rating) for r in generated(400, seed=9)
    ]
    random_result = evaluate_model(noise)  # no information in the features: no skill
    assert random_result["auc"] is not None and random_result["auc"] < 0.62


def test_evaluation_needs_rated_conversations_of_both_kinds() -> None:
    assert evaluate_model([])["auc"] is None
    only_happy = [ConversationRow(i, T0, rating=5) for i in range(50)]
    assert evaluate_model(only_happy)["auc"] is None


def test_predictions_explain_themselves() -> None:
    waited = ConversationRow(
        1,
        T0,
        handed_off=True,
        first_response_s=1800,
        resolved=True,
        sentiment_end=-0.6,
        customer_messages=3,
    )
    prediction = prior_model().predict(waited)
    assert 0 < prediction.probability < 1
    assert prediction.rating == round(1 + 4 * prediction.probability, 2)
    names = [name for name, _ in prediction.reasons]
    assert names[0] in {"wait_minutes_log", "sentiment_end", "resolved"}
    sizes = [abs(c) for _, c in prediction.reasons]
    assert sizes == sorted(sizes, reverse=True)


def test_calibration_error_is_zero_when_predictions_match_outcomes() -> None:
    probabilities = np.array([0.0, 0.0, 1.0, 1.0])
    assert calibration_error(probabilities, np.array([0, 0, 1, 1])) == 0.0
    assert calibration_error(probabilities, np.array([1, 1, 0, 0])) == 1.0
