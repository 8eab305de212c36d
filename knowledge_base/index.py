"""Hybrid retrieval over article chunks: dense MiniLM vectors fused with BM25 (bm25s).

Each article has one vector for its title (for an FAQ, its question), one per section heading
(`title: heading`) and one per chunk. A chunk's dense similarity to a query averages the query's
cosine with the chunk and with its title (its section's, when the section has a heading), so a
paraphrase of the question and a match in the text both count; BM25 over the chunk
texts, normalised by the query's best BM25 score, adds a small lexical share."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import bm25s
import numpy as np
import numpy.typing as npt

from knowledge_base.articles import Article
from knowledge_base.chunking import Chunk, chunk_article
from knowledge_base.embedding_cache import EmbeddingCache, content_key
from nlu.encoder import Encoder, Vectors

TITLE_WEIGHT = 0.5  # share of the title's cosine in the dense similarity; the rest is the chunk's
BM25_WEIGHT = 0.05  # share of BM25 in the fused score (benchmarks/kb.py measures the choice)
# With pgvector, the chunks PostgreSQL ranks first by dense similarity; BM25 re-ranks them. Its
# share (0.05) cannot lift a chunk more than 0.05, less than the usual gap to the 50th chunk.
DENSE_CANDIDATES = 50


@dataclass(frozen=True)
class Passage:
    chunk: Chunk
    score: float  # fused ranking score: the confidence model's input
    similarity: float  # dense similarity of query and passage (title and chunk cosines)


class KnowledgeBaseIndex:
    """Articles chunked and indexed; `search` ranks passages for a query. Dense vectors are kept
    in memory, or in PostgreSQL with pgvector when a `DenseStore` is given.

    `upsert` and `remove` change one article while the index serves: only that article's
    passages are encoded (the others come from the embedding cache) and the new state replaces
    the old in one assignment, so a search running in another thread sees one or the other."""

    def __init__(
        self,
        articles: list[Article],
        encoder: Encoder,
        chunk_words: int = 120,
        progress: Callable[[int, int], None] | None = None,
        cache: EmbeddingCache | None = None,
        *,
        dense: DenseStore | None = None,
    ) -> None:
        self._encoder = encoder
        self._chunk_words = chunk_words
        self._cache = cache if cache is not None else EmbeddingCache()
        self._dense = dense
        self._writing = threading.Lock()
        self._state = self._build(articles, progress)
        self.encoded = self._state.encoded

    @property
    def articles(self) -> dict[str, Article]:
        return self._state.articles

    @property
    def chunks(self) -> list[Chunk]:
        return self._state.chunks

    @property
    def dense_store(self) -> DenseStore | None:
        return self._dense

    @property
    def encoder(self) -> Encoder:
        return self._encoder

    def upsert(self, article: Article) -> int:
        """Add the article, or replace the one with its id; returns how many texts were encoded."""
        with self._writing:
            articles = {**self._state.articles, article.id: article}
            self._state = self._build(list(articles.values()), None, self._held())
            return self._state.encoded

    def refresh(self) -> None:
        """Rebuild from the same articles (nothing is encoded): the dense store gets back any
        of this index's rows it lost, e.g. to another worker's edit of an older version."""
        if self._dense is None:
            return  # in memory nothing can be lost
        with self._writing:
            articles = list(self._state.articles.values())
            self._state = self._build(articles, None, self._held())

    def remove(self, article_id: str) -> bool:
        """Stop answering from the article; False when the index did not hold it."""
        with self._writing:
            if article_id not in self._state.articles:
                return False
            kept = [a for a in self._state.articles.values() if a.id != article_id]
            self._state = self._build(kept, None, self._held())
            return True

    def search(
        self,
        query: str,
        k: int = 5,
        distinct_articles: bool = False,
        query_vector: Vectors | None = None,
    ) -> list[Passage]:
        """The k best passages, best first; with `distinct_articles`, one per article.
        `query_vector` is the query's vector when the caller has it (from a shared batcher)."""
        state = self._state  # one consistent snapshot, whatever `upsert` does meanwhile
        if not state.chunks or not query.strip():
            return []
        if query_vector is None:
            query_vector = self._encoder.encode([query])[0]
        rows, similarity = self._dense_similarity(state, query_vector, k)
        fused = (1 - BM25_WEIGHT) * similarity + BM25_WEIGHT * _bm25_scores(state, query)[rows]
        ranked = rows[np.argsort(-fused, kind="stable")]
        position = {int(row): i for i, row in enumerate(rows)}
        if distinct_articles:
            order = _first_per_article(ranked, state.article_of_chunk, k)
        else:
            order = [int(i) for i in ranked[:k]]
        return [
            Passage(state.chunks[i], float(fused[position[i]]), float(similarity[position[i]]))
            for i in order
        ]

    def encode(self, texts: list[str]) -> Vectors:
        return self._encoder.encode(texts)

    def close(self) -> None:
        """Release the dense store's connections, if there is a store."""
        if self._dense is not None:
            self._dense.close()

    def _held(self) -> set[str]:
        return set(self._state.rows_of_key)

    def _dense_similarity(
        self, state: _State, query: Vectors, k: int
    ) -> tuple[npt.NDArray[np.intp], Vectors]:
        """Candidate chunk rows and their dense similarity: every chunk in memory, or the
        nearest DENSE_CANDIDATES (at least k) that PostgreSQL finds with pgvector."""
        if state.vectors is not None:  # built in memory: there is no store
            return np.arange(len(state.chunks)), state.vectors @ query
        assert self._dense is not None  # the state keeps no vectors only when a store has them
        rows: list[int] = []
        similarity: list[float] = []
        for key, value in self._dense.nearest(query, max(k, DENSE_CANDIDATES)):
            for row in state.rows_of_key.get(key, ()):  # unknown keys: another worker's edit
                rows.append(row)
                similarity.append(value)
        return np.array(rows, dtype=np.intp), np.array(similarity, dtype=np.float32)

    def _build(
        self,
        articles: list[Article],
        progress: Callable[[int, int], None] | None,
        held: set[str] | None = None,
    ) -> _State:
        """The state over the articles; `held` are the keys of the state it replaces."""
        chunks = [c for a in articles for c in chunk_article(a, self._chunk_words)]
        titles = list(dict.fromkeys(heading_text(c) for c in chunks))
        title_row = {title: row for row, title in enumerate(titles)}
        title_of_chunk = np.array([title_row[heading_text(c)] for c in chunks], dtype=int)
        texts = [passage_text(c) for c in chunks]
        vectors, encoded = self._cache.encode(self._encoder, titles + texts, progress)
        title_vectors = vectors[: len(titles)][title_of_chunk]
        chunk_vectors = vectors[len(titles) :]
        keys = [
            content_key(self._encoder.name, f"{heading_text(c)}\0{text}")
            for c, text in zip(chunks, texts, strict=True)
        ]
        weighted: Vectors | None = None
        if self._dense is None:
            # The dense similarity is linear in the vectors: one weighted row per chunk.
            weighted = TITLE_WEIGHT * title_vectors + (1 - TITLE_WEIGHT) * chunk_vectors
        else:
            # Drop only what this index itself held and no longer does: rows another worker
            # wrote for its newer edit stay. The first build prunes everything else (orphans).
            dropped = None if held is None else held - set(keys)
            self._dense.replace(keys, title_vectors, chunk_vectors, dropped)
        bm25 = bm25s.BM25()
        if texts:
            tokens = bm25s.tokenize(texts, stopwords="en", show_progress=False)
            bm25.index(tokens, show_progress=False)
        rows_of_key: dict[str, list[int]] = {}
        for row, key in enumerate(keys):
            rows_of_key.setdefault(key, []).append(row)
        return _State(
            {a.id: a for a in articles},
            chunks,
            weighted,
            rows_of_key,
            _article_rows(chunks),
            bm25,
            encoded,
        )


class DenseStore(ABC):
    """Where chunk vectors live outside the process (pgvector), and how the nearest are found.
    A chunk's similarity to a query is TITLE_WEIGHT x cos(title, query) + the rest x
    cos(chunk, query), as in memory."""

    @abstractmethod
    def replace(
        self, keys: list[str], titles: Vectors, chunks: Vectors, dropped: set[str] | None
    ) -> None:
        """Hold these chunks (by content key): add the missing ones, and delete the `dropped`
        keys, or, when `dropped` is None, every key not among these."""

    @abstractmethod
    def nearest(self, query: Vectors, k: int) -> list[tuple[str, float]]:
        """The k chunk keys most similar to the query, with their similarity, best first."""

    def close(self) -> None:  # noqa: B027 (most stores hold nothing to release)
        """Release connections."""


@dataclass(frozen=True)
class _State:
    articles: dict[str, Article]
    chunks: list[Chunk]
    vectors: Vectors | None  # one weighted row per chunk; None when a DenseStore holds them
    rows_of_key: dict[str, list[int]]  # content key -> chunk rows (equal passages share one)
    article_of_chunk: npt.NDArray[np.int_]
    bm25: bm25s.BM25
    encoded: int  # texts that were not in the cache and had to be encoded


def _bm25_scores(state: _State, query: str) -> Vectors:
    tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
    if not tokens or not tokens[0]:
        return np.zeros(len(state.chunks), dtype=np.float32)
    scores = np.asarray(state.bm25.get_scores(tokens[0]), dtype=np.float32)
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
