"""Retrieval and answering quality on labelled queries: `helpline kb evaluate`.

A query's `relevant` list names the articles that answer it; an empty list means the knowledge
base cannot answer it and the right behaviour is to abstain. With a clarify threshold, a query
left unanswered whose confidence reaches it is one the bot asks about, offering its CHOICES
best articles (`knowledge_base.answer.draft_reply`)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge_base.answer import CHOICES, answer_from
from knowledge_base.confidence import DEFAULT_MODEL, ConfidenceModel, features
from knowledge_base.documents import ArticleError
from knowledge_base.index import KnowledgeBaseIndex

RANKED = 10  # articles ranked per query: MRR is computed over the first ten


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    relevant: frozenset[str]


@dataclass(frozen=True)
class Outcome:
    ranking: list[str]  # article ids, best first
    answered: str | None  # the cited article, or None when the bot abstained
    confidence: float
    features: tuple[float, float]
    ms: float


def read_queries(path: Path) -> list[LabelledQuery]:
    """A JSON list of {"query": ..., "relevant": [article ids]}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [LabelledQuery(str(q["query"]), frozenset(map(str, q["relevant"]))) for q in data]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ArticleError(f"{path}: not a JSON list of query/relevant objects ({exc})") from exc


def run_queries(
    index: KnowledgeBaseIndex,
    queries: Sequence[LabelledQuery],
    threshold: float,
    model: ConfidenceModel = DEFAULT_MODEL,
) -> list[Outcome]:
    """Rank the articles and decide to answer or abstain for every query, timing each."""
    outcomes = []
    for labelled in queries:
        start = time.perf_counter()
        passages = index.search(labelled.query, k=RANKED, distinct_articles=True)
        answer = answer_from(labelled.query, passages, threshold, model)
        ms = (time.perf_counter() - start) * 1000
        outcomes.append(
            Outcome(
                ranking=[p.chunk.article.id for p in passages],
                answered=answer.citations[0].article_id if answer else None,
                confidence=model.probability(passages),
                features=features(passages) if passages else (0.0, 0.0),
                ms=ms,
            )
        )
    return outcomes


def summarize(
    queries: Sequence[LabelledQuery],
    outcomes: Sequence[Outcome],
    clarify_at: float | None = None,
) -> dict[str, object]:
    """The documented metrics, and with `clarify_at` those of asking (`_clarified`); rates over
    an empty group are null."""
    pairs = list(zip(queries, outcomes, strict=True))
    answerable = [(q, o) for q, o in pairs if q.relevant]
    unanswerable = [(q, o) for q, o in pairs if not q.relevant]
    answered = [(q, o) for q, o in pairs if o.answered is not None]
    correct = [(q, o) for q, o in answered if o.answered in q.relevant]
    summary: dict[str, object] = {
        "p_at_1": _rate(
            sum(bool(o.ranking) and o.ranking[0] in q.relevant for q, o in answerable),
            len(answerable),
        ),
        "mrr": _mean([_reciprocal_rank(q, o) for q, o in answerable]),
        "recall_at_5": _mean([_recall(q, o, 5) for q, o in answerable]),
        "answered_rate": _rate(len(answered), len(pairs)),
        "wrong_answer_rate": _rate(len(answered) - len(correct), len(answered)),
        "coverage": _rate(len(correct), len(answerable)),
        "abstain_recall": _rate(
            sum(o.answered is None for _, o in unanswerable), len(unanswerable)
        ),
        "query_ms_p50": round(statistics.median(o.ms for o in outcomes), 2) if outcomes else None,
        "queries": len(pairs),
        "answerable": len(answerable),
    }
    if clarify_at is not None:
        summary.update(_clarified(pairs, clarify_at, len(correct)))
    return summary


def _clarified(
    pairs: list[tuple[LabelledQuery, Outcome]], clarify_at: float, correct: int
) -> dict[str, object]:
    """`clarified_rate`: queries asked about, over all; `clarified_right_offered`: answerable
    ones asked about with a relevant article among the offered, over the answerable asked
    about; `answered_or_offered`: answered correctly or offered a relevant article, over the
    answerable; `unanswerable_clarified`: queries without an answer asked about, over those."""
    asked = [
        (q, o) for q, o in pairs if o.answered is None and o.ranking and o.confidence >= clarify_at
    ]
    answerable = [q for q, _ in pairs if q.relevant]
    asked_answerable = [(q, o) for q, o in asked if q.relevant]
    offered = sum(bool(q.relevant & set(o.ranking[:CHOICES])) for q, o in asked_answerable)
    return {
        "clarify_threshold": clarify_at,
        "clarified_rate": _rate(len(asked), len(pairs)),
        "clarified_right_offered": _rate(offered, len(asked_answerable)),
        "answered_or_offered": _rate(correct + offered, len(answerable)),
        "unanswerable_clarified": _rate(
            sum(not q.relevant for q, _ in asked), len(pairs) - len(answerable)
        ),
    }


def evaluate(
    index: KnowledgeBaseIndex,
    queries: Sequence[LabelledQuery],
    threshold: float,
    model: ConfidenceModel = DEFAULT_MODEL,
    clarify_at: float | None = None,
) -> dict[str, object]:
    return summarize(queries, run_queries(index, queries, threshold, model), clarify_at)


def _reciprocal_rank(query: LabelledQuery, outcome: Outcome) -> float:
    for rank, article_id in enumerate(outcome.ranking, start=1):
        if article_id in query.relevant:
            return 1 / rank
    return 0.0


def _recall(query: LabelledQuery, outcome: Outcome, k: int) -> float:
    return len(query.relevant & set(outcome.ranking[:k])) / len(query.relevant)


def _rate(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None
