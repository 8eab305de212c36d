"""Knowledge-base indexing time and query latency at scale, on synthetic articles.

    python benchmarks/kb_scale.py --json [--chunks 10000] [--distinct N] [--threads T]

Articles of five sections, each section one chunk of 60-110 words made of sentences drawn from
the StackFAQ answers (or from a fixed word list when the data set is absent). `--distinct N`
builds the same number of chunks out of N distinct texts (the embedding cache encodes each once):
a quicker run whose query latency is that of the full-size index; `index_seconds` then covers
only the N distinct chunks (and their titles) and `index_seconds_estimate` scales it by
chunks / N. `reindex_unchanged_seconds` builds the index again with every vector in the cache."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from encoding import add_encoder_options, encoder_from  # benchmarks/encoding.py
from kb import MemoEncoder  # benchmarks/kb.py

from knowledge_base.answer import draft_answer
from knowledge_base.documents import Article
from knowledge_base.embedding_cache import EmbeddingCache
from knowledge_base.index import KnowledgeBaseIndex

SECTIONS = 5
DATA = Path(__file__).resolve().parents[2] / "shared/datasets/stackfaq"
WORDS = [
    "order",
    "parcel",
    "refund",
    "invoice",
    "account",
    "password",
    "delivery",
    "return",
    "warranty",
    "size",
    "colour",
    "payment",
    "card",
    "voucher",
    "store",
    "opening",
    "hours",
    "shipping",
    "customs",
    "express",
    "tracking",
    "address",
    "email",
    "discount",
]


def sentences(rng: random.Random) -> list[str]:
    path = DATA / "kb_articles.json"
    if path.exists():
        bodies = [a["body"] for a in json.loads(path.read_text(encoding="utf-8"))]
        found = re.split(r"(?<=[.!?])\s+", " ".join(" ".join(bodies).split()))
        return [s for s in found if 5 <= len(s.split()) <= 40]
    return [
        " ".join(rng.choices(WORDS, k=rng.randint(8, 20))).capitalize() + "." for _ in range(5000)
    ]


def section(pool: list[str], rng: random.Random) -> str:
    words, picked = rng.randint(60, 110), []
    while sum(len(s.split()) for s in picked) < words:
        picked.append(rng.choice(pool))
    return " ".join(picked)


def synthetic_articles(chunks: int, distinct: int, rng: random.Random) -> list[Article]:
    pool = sentences(rng)
    texts = [section(pool, rng) for _ in range(distinct)]
    articles = []
    for n in range(chunks // SECTIONS):
        body = "\n\n".join(
            f"## Part {s + 1}\n\n{texts[(n * SECTIONS + s) % distinct]}" for s in range(SECTIONS)
        )
        articles.append(Article(f"a{n}", f"Article {n % (distinct // SECTIONS or 1)}", body, "/"))
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--distinct", type=int, default=None, help="distinct chunk texts")
    parser.add_argument("--queries", type=int, default=200)
    add_encoder_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    rng = random.Random(11)
    distinct = min(args.distinct or args.chunks, args.chunks)
    articles = synthetic_articles(args.chunks, distinct, rng)
    encoder = MemoEncoder(encoder_from(args))  # remembers the query vectors
    cache = EmbeddingCache()
    start = time.perf_counter()
    index = KnowledgeBaseIndex(articles, encoder, chunk_words=120, cache=cache)
    index_seconds = time.perf_counter() - start
    start = time.perf_counter()
    KnowledgeBaseIndex(articles, encoder, chunk_words=120, cache=cache)
    reindex_seconds = time.perf_counter() - start
    pool = sentences(rng)
    queries = [" ".join(rng.choice(pool).split()[:10]) for _ in range(args.queries)]
    timings, without_encoder = [], []
    for times in (timings, without_encoder):  # the second pass finds every query vector known
        for query in queries:
            began = time.perf_counter()
            draft_answer(query, index, threshold=0.9)
            times.append((time.perf_counter() - began) * 1000)
    result = {
        "chunks": len(index.chunks),
        "articles": len(index.articles),
        "encoded_texts": index.encoded,
        "index_seconds": round(index_seconds, 1),
        "index_seconds_estimate": round(index_seconds * args.chunks / distinct, 1),
        "reindex_unchanged_seconds": round(reindex_seconds, 1),
        "query_ms_p50": round(statistics.median(timings), 2),
        "query_ms_p90": round(statistics.quantiles(timings, n=10)[-1], 2),
        "query_ms_p50_encoder_excluded": round(statistics.median(without_encoder), 2),
        "threads": args.threads or "default",
        "runtime": args.runtime,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
