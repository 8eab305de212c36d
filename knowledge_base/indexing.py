"""Build the index from article sources, re-using the embeddings of passages that did not change
(an on-disk cache keyed by content hash), so re-indexing only encodes what changed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge_base.articles import Article, load_articles
from knowledge_base.embedding_cache import EmbeddingCache
from knowledge_base.index import DenseStore, KnowledgeBaseIndex
from nlu.encoder import Encoder

CACHE_FILE = Path(".helpline/kb-embeddings.npz")  # relative to the config's folder


def index_sources(
    sources: list[Path],
    encoder: Encoder,
    chunk_words: int = 120,
    cache_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[KnowledgeBaseIndex, list[str]]:
    """The index over every article under the sources, and the errors of the files skipped.
    With a cache path, vectors are read from and saved to it; `index.encoded` counts the
    passages that had to be encoded."""
    report = load_articles(sources)
    return index_articles(
        report.articles, encoder, chunk_words, cache_path, progress
    ), report.errors


def index_articles(
    articles: list[Article],
    encoder: Encoder,
    chunk_words: int = 120,
    cache_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    dense: DenseStore | None = None,
) -> KnowledgeBaseIndex:
    """The index over the articles; with a cache path, vectors are read from and saved to it;
    with a dense store (pgvector), the chunk vectors are kept and searched there."""
    cache = EmbeddingCache(cache_path)
    index = KnowledgeBaseIndex(articles, encoder, chunk_words, progress, cache, dense=dense)
    cache.save()
    return index
