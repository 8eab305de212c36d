"""Re-indexing only embeds what changed: chunk vectors are cached on disk by content hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge_base.embedding_cache import EmbeddingCache
from knowledge_base.indexing import index_sources
from nlu.encoder import Encoder, Vectors


class CountingEncoder:
    """The real encoder, counting the texts it is asked to encode."""

    def __init__(self, encoder: Encoder) -> None:
        self.name = encoder.name
        self._encoder = encoder
        self.texts: list[str] = []

    def encode(self, texts: list[str]) -> Vectors:
        self.texts.extend(texts)
        return self._encoder.encode(texts)


@pytest.fixture
def counting(encoder: Encoder) -> CountingEncoder:
    return CountingEncoder(encoder)


def write_articles(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "hours.md").write_text("# Opening hours\n\nWe open at 9 on weekdays.\n")
    (folder / "returns.md").write_text("# Returns\n\nReturns are free within 30 days.\n")


def test_unchanged_chunks_are_not_encoded_again(tmp_path: Path, counting: CountingEncoder) -> None:
    folder, cache = tmp_path / "articles", tmp_path / ".helpline" / "kb.npz"
    write_articles(folder)
    first, _ = index_sources([folder], counting, cache_path=cache)
    assert first.encoded == len(counting.texts) == 4  # two titles and two chunks
    assert cache.exists()

    counting.texts.clear()
    again, _ = index_sources([folder], counting, cache_path=cache)
    assert again.encoded == 0
    assert counting.texts == []
    assert again.search("when do you open", k=1)[0].chunk.article.id == "hours"

    (folder / "returns.md").write_text("# Returns\n\nReturns are free within 60 days.\n")
    counting.texts.clear()
    changed, _ = index_sources([folder], counting, cache_path=cache)
    assert changed.encoded == 1
    assert counting.texts == ["Returns. Returns are free within 60 days."]


def test_cached_vectors_equal_fresh_ones(tmp_path: Path, encoder: Encoder) -> None:
    texts = ["Returns are free.", "We open at 9."]
    path = tmp_path / "kb.npz"
    cache = EmbeddingCache(path)
    fresh, encoded = cache.encode(encoder, texts)
    assert encoded == 2
    cache.save()
    reloaded, encoded_again = EmbeddingCache(path).encode(encoder, texts)
    assert encoded_again == 0
    np.testing.assert_allclose(reloaded, fresh, atol=1e-6)


def test_saving_drops_vectors_no_longer_used(tmp_path: Path, encoder: Encoder) -> None:
    path = tmp_path / "kb.npz"
    first = EmbeddingCache(path)
    first.encode(encoder, ["old text", "kept text"])
    first.save()
    second = EmbeddingCache(path)
    second.encode(encoder, ["kept text"])
    second.save()
    assert len(EmbeddingCache(path)) == 1


def test_an_unreadable_cache_is_rebuilt(tmp_path: Path, counting: CountingEncoder) -> None:
    folder, cache = tmp_path / "articles", tmp_path / "kb.npz"
    write_articles(folder)
    cache.write_bytes(b"not a numpy file")
    index, errors = index_sources([folder], counting, cache_path=cache)
    assert errors == [] and index.encoded == 4
    assert len(EmbeddingCache(cache)) == 4


def test_progress_counts_cached_texts_as_done(tmp_path: Path, encoder: Encoder) -> None:
    cache = EmbeddingCache(tmp_path / "kb.npz")
    cache.encode(encoder, ["one", "two"])
    reports: list[tuple[int, int]] = []
    cache.encode(
        encoder, ["one", "two", "three"], lambda done, total: reports.append((done, total))
    )
    assert reports[0] == (2, 3)
    assert reports[-1] == (3, 3)
