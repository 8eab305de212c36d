"""Hybrid retrieval over article chunks: dense MiniLM vectors fused with BM25 (bm25s).

Each article has one vector for its title (for an FAQ, its question), one per section heading
(`title: heading`) and one per chunk. A chunk's dense similarity to a query averages the query's
cosine with the chunk and with its title (its section's, when the section has a heading), so a
paraphrase of the question and a match in the text both count; BM25 over the chunk
texts, normalised by the query's best BM25 score, adds a small lexical share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import bm25s
import numpy as np
import numpy.typing as npt

from knowledge_base.articles import Article
from knowledge_base.chunking import Chunk, chunk_article
from knowledge_base.embedding_cache import EmbeddingCache
from nlu.encoder import Encoder, Vectors

TITLE_WEIGHT = 0.5  # share of the title's cosine in the dense similarity; the rest is the chunk's
BM25_WEIGHT = 0.05  # share of BM25 in the fused score (benchmarks/kb.py measures the choice)


@dataclass(frozen=True)
class Passage:
    chunk: Chunk
    score: float  # fused ranking score: the confidence model's input
    similarity: float  # dense similarity of query and passage (title and chunk cosines)


class KnowledgeBaseIndex:
    """Articles chunked and indexed in memory; `search` ranks passages for a query."""

    def __init__(
        self,
        articles: list[Article],
        encoder: Encoder,
        chunk_words: int = 120,
        progress: Callable[[int, int], None] | None = None,
        cache: EmbeddingCache | None = None,
    ) -> None:
        self.articles = {a.id: a for a in articles}
        self.chunks = [c for a in articles for c in chunk_article(a, chunk_words)]
        self._encoder = encoder
        titles = list(dict.fromkeys(heading_text(c) for c in self.chunks))
        title_row = {title: row for row, title in enumerate(titles)}
        title_of_chunk = np.array([title_row[heading_text(c)] for c in self.chunks], dtype=int)
        self._article_of_chunk = _article_rows(self.chunks)
        texts = [passage_text(c) for c in self.chunks]
        vectors, self.encoded = (cache if cache is not None else EmbeddingCache()).encode(
            encoder, titles + texts, progress
        )
        # The dense similarity is linear in the vectors: one weighted row per chunk is one matmul.
        self._vectors = (
            TITLE_WEIGHT * vectors[: len(titles)][title_of_chunk]
            + (1 - TITLE_WEIGHT) * vectors[len(titles) :]
        )
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index(
                bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False
            )

    def search(self, query: str, k: int = 5, distinct_articles: bool = False) -> list[Passage]:
        """The k best passages, best first; with `distinct_articles`, one per article."""
        if not self.chunks or not query.strip():
            return []
        similarity = self._vectors @ self._encoder.encode([query])[0]
        fused = (1 - BM25_WEIGHT) * similarity + BM25_WEIGHT * self._bm25_scores(query)
        ranked = np.argsort(-fused, kind="stable")
        if distinct_articles:
            order = _first_per_article(ranked, self._article_of_chunk, k)
        else:
            order = [int(i) for i in ranked[:k]]
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


def heading_text(chunk: Chunk) -> str:
    """What a chunk's title vector encodes: its article's title, and the section's heading
    when the section has its own, so that a question matching a heading finds the section."""
    title = chunk.article.title
    return title if chunk.heading == title else f"{title}: {chunk.heading}"


def _article_rows(chunks: list[Chunk]) -> npt.NDArray[np.int_]:
    rows: dict[str, int] = {}
    return np.array([rows.setdefault(c.article.id, len(rows)) for c in chunks], dtype=int)


def passage_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk: its article's title, heading and text."""
    title = chunk.article.title
    heading = "" if chunk.heading == title else f" {chunk.heading}."
    return f"{title}.{heading} {chunk.text}"


def _first_per_article(
    ranked: npt.NDArray[np.intp], article_of: npt.NDArray[np.int_], k: int
) -> list[int]:
    kept: list[int] = []
    seen: set[int] = set()
    for i in ranked:
        article = int(article_of[i])
        if article not in seen:
            seen.add(article)
            kept.append(int(i))
            if len(kept) == k:
                break
    return kept
