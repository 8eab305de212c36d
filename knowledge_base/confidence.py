"""How sure the best passage answers the query: a small logistic model over the ranking.

Two features: the best passage's fused score, and its margin over the best passage of another
article (a query close to two articles is ambiguous). The default weights were fitted by
`python benchmarks/kb.py --fit` on the StackFAQ development queries, with a fifth of the articles
removed at a time so that questions the knowledge base cannot answer are part of the training."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from knowledge_base.index import Passage


@dataclass(frozen=True)
class ConfidenceModel:
    weights: tuple[float, float]  # for (score, margin)
    bias: float

    def probability(self, passages: Sequence[Passage]) -> float:
        """The estimated probability that the first passage's article answers the query."""
        if not passages:
            return 0.0
        return float(self.probabilities(np.array([features(passages)]))[0])

    def probabilities(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The probability for each row of `features` (best score, margin)."""
        logits = self.bias + rows @ np.array(self.weights)
        return 1 / (1 + np.exp(-logits))  # type: ignore[no-any-return]


def features(passages: Sequence[Passage]) -> tuple[float, float]:
    """(best score, its margin over the next article's best); passages from distinct articles."""
    best = passages[0].score
    runner_up = passages[1].score if len(passages) > 1 else 0.0
    return best, best - runner_up


def fit_confidence(
    rows: npt.NDArray[np.float64], correct: npt.NDArray[np.bool_]
) -> ConfidenceModel:
    """Logistic regression of `correct` (the first article answers) on feature rows."""
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 (only when fitting)

    model = LogisticRegression(C=10.0, max_iter=1000).fit(rows, correct)
    w_score, w_margin = (float(w) for w in model.coef_[0])
    return ConfidenceModel((w_score, w_margin), float(model.intercept_[0]))


DEFAULT_MODEL = ConfidenceModel(weights=(12.3117, 12.1789), bias=-7.7154)
