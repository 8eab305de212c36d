"""Hybrid retrieval over article chunks: dense MiniLM vectors fused with BM25 (bm25s)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import bm25s
import numpy as np

from knowledge_base.articles import Article
from knowledge_base.chunking import Chunk, chunk_article
from nlu.encoder import Encoder, Vectors

DENSE_WEIGHT = 0.75  # the rest goes to BM25, normalised by the query's best BM25 score


@dataclass(frozen=True)
class Passage:
    chunk: Chunk
    score: float  # fused ranking score
    similarity: float  # cosine similarity of query and passage: the confidence scale


class KnowledgeBaseIndex:
    """Articles chunked and indexed in memory; `search` ranks passages for a query."""

    def __init__(
        self,
        articles: list[Article],
        encoder: Encoder,
        chunk_words: int = 120,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.articles = {a.id: a for a in articles}
        self.chunks = [c for a in articles for c in chunk_article(a, chunk_words)]
        self._encoder = encoder
        texts = [f"{c.article.title}. {c.heading}. {c.text}" for c in self.chunks]
        self._vectors = _encode(encoder, texts, progress)
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index(
                bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False
            )

    def search(self, query: str, k: int = 5) -> list[Passage]:
        if not self.chunks or not query.strip():
            return []
        query_vector = self._encoder.encode([query])[0]
        similarity = self._vectors @ query_vector
        fused = DENSE_WEIGHT * similarity + (1 - DENSE_WEIGHT) * self._bm25_scores(query)
        order = np.argsort(-fused)[:k]
        return [Passage(self.chunks[i], float(fused[i]), float(similarity[i])) for i in order]

    def encode(self, texts: list[str]) -> Vectors:
        return self._encoder.encode(texts)

    def _bm25_scores(self, query: str) -> Vectors:
        tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
        if not tokens or not tokens[0]:
            return np.zeros(len(self.chunks), dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(tokens[0]), dtype=np.float32)
        best = float(scores.max())
        return scores / best if best > 0 else scores


def _encode(
    encoder: Encoder, texts: list[str], progress: Callable[[int, int], None] | None
) -> Vectors:
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    parts = []
    for start in range(0, len(texts), 64):
        parts.append(encoder.encode(texts[start : start + 64]))
        if progress is not None:
            progress(min(start + 64, len(texts)), len(texts))
    return np.vstack(parts)
