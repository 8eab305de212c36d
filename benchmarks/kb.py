"""Knowledge-base accuracy on StackFAQ with honest (cross-validated) abstention.

    python benchmarks/kb.py --json [--data DIR] [--cache FILE] [--fit]

Two kinds of fold, so no number is tuned and reported on the same queries:
- article folds: a fifth of the articles is removed from the KB at a time; their queries then
  have no answer and must abstain;
- query folds: each article's queries are dealt into five folds.
For test fold i the confidence model and its threshold are fitted on the KBs without article
fold j != i, with the queries outside query fold i; they are tested on the KB without article
fold i (`abstention`) and on the whole KB (`full_kb`), with the queries of query fold i.
`retrieval` ranks every query against the whole KB (nothing there is fitted on queries).
`abstention` and `full_kb` also say how often the bot would ask which article is meant
(`--clarify-threshold`, config.yml's 0.1 by default; knowledge_base.evaluation `_clarified`).
`--fit` prints the confidence model and threshold fitted on all the development queries."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from encoding import add_encoder_options, encoder_from  # benchmarks/encoding.py

from knowledge_base.confidence import DEFAULT_MODEL, ConfidenceModel, fit_confidence
from knowledge_base.documents import Article
from knowledge_base.embedding_cache import EmbeddingCache
from knowledge_base.evaluation import LabelledQuery, Outcome, read_queries, run_queries, summarize
from knowledge_base.faq import read_faq_json
from knowledge_base.index import KnowledgeBaseIndex
from nlu.encoder import Encoder, Vectors

FOLDS = 5
TARGET_WRONG = 0.02  # the threshold is the lowest whose training wrong-answer rate stays below
RETRIEVAL = ("p_at_1", "mrr", "recall_at_5", "query_ms_p50", "queries")  # nothing fitted on queries
DATA = Path(__file__).resolve().parents[2] / "shared/datasets/stackfaq"


class MemoEncoder:
    """The real encoder, remembering each query's vector: the folds re-run the same queries."""

    def __init__(self, encoder: Encoder) -> None:
        self.name = encoder.name
        self._encoder = encoder
        self._seen: dict[str, Vectors] = {}

    def encode(self, texts: list[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._seen]
        if missing:
            self._seen.update(zip(missing, self._encoder.encode(missing), strict=True))
        return np.vstack([self._seen[t] for t in texts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache (.npz)")
    parser.add_argument("--fit", action="store_true", help="print the model fitted on all queries")
    parser.add_argument(
        "--clarify-threshold", type=float, default=0.1, help="ask about the best articles from"
    )
    add_encoder_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    articles = read_faq_json(args.data / "kb_articles.json")
    queries = read_queries(args.data / "queries_dev.json")
    encoder = encoder_from(args)
    cache = EmbeddingCache(args.cache)
    article_fold = _deal([a.id for a in articles], np.random.default_rng(7))
    query_fold = _query_folds(queries)
    full = KnowledgeBaseIndex(articles, encoder, cache=cache)
    timed = run_queries(full, queries, threshold=0.5)  # real encoder: honest latency
    memo = MemoEncoder(encoder)
    removed_runs = [
        _run_without(articles, queries, article_fold, fold, memo, cache) for fold in range(FOLDS)
    ]
    cache.save()
    full_run = (queries, run_queries(full, queries, 0.5))
    result = {
        "dataset": "StackFAQ dev",
        "articles": len(articles),
        "chunks": len(full.chunks),
        "retrieval": {k: v for k, v in summarize(queries, timed).items() if k in RETRIEVAL},
        "abstention": _cross_validate(
            removed_runs, removed_runs, query_fold, clarify_at=args.clarify_threshold
        ),
        "full_kb": _cross_validate(
            removed_runs, [full_run] * FOLDS, query_fold, clarify_at=args.clarify_threshold
        ),
        "abstention_by_target": {
            str(target): _brief(_cross_validate(removed_runs, removed_runs, query_fold, target))
            for target in (0.01, 0.05, 0.1)
        },
        "folds": FOLDS,
        "target_wrong_answer_rate": TARGET_WRONG,
        "shipped_model": DEFAULT_MODEL.__dict__,
        "threads": args.threads or "default",
        "runtime": args.runtime,
    }
    if args.fit:
        model, threshold = _fit(removed_runs, [np.ones(len(queries), dtype=bool)] * FOLDS)
        result["fitted"] = {"model": model.__dict__, "threshold": threshold}
    print(json.dumps(result, indent=None if args.json else 2, default=list))


Run = tuple[list[LabelledQuery], list[Outcome]]


def _run_without(  # noqa: PLR0917 (a benchmark helper, called once)
    articles: list[Article],
    queries: list[LabelledQuery],
    article_fold: dict[str, int],
    fold: int,
    encoder: MemoEncoder,
    cache: EmbeddingCache,
) -> Run:
    kept = [a for a in articles if article_fold[a.id] != fold]
    ids = {a.id for a in kept}
    index = KnowledgeBaseIndex(kept, encoder, cache=cache)
    relabelled = [LabelledQuery(q.query, q.relevant & ids) for q in queries]
    return relabelled, run_queries(index, relabelled, 0.5)


def _cross_validate(
    train_runs: list[Run],
    test_runs: list[Run],
    query_fold: np.ndarray,
    target_wrong: float = TARGET_WRONG,
    clarify_at: float | None = None,
) -> dict:
    tested_queries: list[LabelledQuery] = []
    tested: list[Outcome] = []
    for fold in range(FOLDS):
        train = [r for j, r in enumerate(train_runs) if j != fold]
        model, threshold = _fit(train, [query_fold != fold] * len(train), target_wrong)
        queries, outcomes = test_runs[fold]
        for q, o, in_fold in zip(queries, outcomes, query_fold == fold, strict=True):
            if in_fold:
                tested_queries.append(q)
                tested.append(_decide(o, model, threshold))
    summary = summarize(tested_queries, tested, clarify_at)
    return {k: v for k, v in summary.items() if k != "query_ms_p50"}


def _brief(summary: dict) -> dict:
    keys = ("answered_rate", "wrong_answer_rate", "coverage", "abstain_recall")
    return {k: summary[k] for k in keys}


def _fit(
    runs: list[Run], masks: list[np.ndarray], target_wrong: float = TARGET_WRONG
) -> tuple[ConfidenceModel, float]:
    rows, labels = [], []
    for (queries, outcomes), mask in zip(runs, masks, strict=True):
        for q, o, used in zip(queries, outcomes, mask, strict=True):
            if used:
                rows.append(o.features)
                labels.append(bool(o.ranking) and o.ranking[0] in q.relevant)
    x, y = np.array(rows), np.array(labels)
    model = fit_confidence(x, y)
    p = model.probabilities(x)
    for threshold in np.round(np.arange(0.05, 1.0, 0.01), 2):
        answered = p >= threshold
        if answered.any() and (answered & ~y).sum() / answered.sum() <= target_wrong:
            return model, float(threshold)
    return model, 1.0


def _decide(outcome: Outcome, model: ConfidenceModel, threshold: float) -> Outcome:
    rows = np.array([outcome.features])
    confidence = float(model.probabilities(rows)[0]) if outcome.ranking else 0.0
    answered = outcome.ranking[0] if outcome.ranking and confidence >= threshold else None
    return Outcome(outcome.ranking, answered, confidence, outcome.features, outcome.ms)


def _deal(ids: list[str], rng: np.random.Generator) -> dict[str, int]:
    order = rng.permutation(len(ids))
    return {ids[i]: position % FOLDS for position, i in enumerate(order)}


def _query_folds(queries: list[LabelledQuery]) -> np.ndarray:
    seen: dict[frozenset[str], int] = {}
    folds = []
    for q in queries:
        folds.append(seen.get(q.relevant, 0) % FOLDS)
        seen[q.relevant] = seen.get(q.relevant, 0) + 1
    return np.array(folds)


if __name__ == "__main__":
    main()
