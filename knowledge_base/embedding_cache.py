"""Chunk embeddings kept on disk, keyed by a hash of the encoder's name and the text, so that
re-indexing only encodes the passages that changed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nlu.encoder import Encoder, Vectors

BATCH = 64
Progress = Callable[[int, int], None]


def content_key(encoder_name: str, text: str) -> str:
    return hashlib.sha256(f"{encoder_name}\0{text}".encode()).hexdigest()


class EmbeddingCache:
    """Vectors by content hash; in memory, and in one `.npz` file when a path is given."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._vectors: dict[str, Vectors] = {}
        self._used: set[str] = set()
        if path is not None and path.exists():
            self._vectors = _read(path)

    def __len__(self) -> int:
        return len(self._vectors)

    def encode(
        self, encoder: Encoder, texts: list[str], progress: Progress | None = None
    ) -> tuple[Vectors, int]:
        """The texts' vectors, encoding only those not seen before; also how many were encoded."""
        keys = [content_key(encoder.name, text) for text in texts]
        self._used.update(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        by_key = dict(zip(keys, texts, strict=True))
        new_texts = [by_key[k] for k in missing]
        cached = len(texts) - len(new_texts)
        if progress is not None:  # cached texts count as done
            progress(cached, len(texts))
        counted = None if progress is None else _offset(progress, cached, len(texts))
        vectors = encode_in_batches(encoder, new_texts, counted)
        self._vectors.update(zip(missing, vectors, strict=True))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32), 0
        return np.vstack([self._vectors[k] for k in keys]), len(missing)

    def save(self) -> None:
        """Write the vectors used since loading (others are dropped) to the file, atomically."""
        if self.path is None:
            return
        kept = sorted(k for k in self._vectors if k in self._used)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial.npz")
        matrix = np.vstack([self._vectors[k] for k in kept]) if kept else np.zeros((0, 0))
        np.savez(partial, keys=np.array(kept, dtype="U64"), vectors=matrix.astype(np.float32))
        os.replace(partial, self.path)


def encode_in_batches(
    encoder: Encoder, texts: list[str], progress: Progress | None = None
) -> list[Vectors]:
    """One vector per text; texts of similar length are batched together to save padding."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors: list[Vectors] = [np.zeros(0, dtype=np.float32)] * len(texts)
    for start in range(0, len(order), BATCH):
        batch = order[start : start + BATCH]
        for i, vector in zip(batch, encoder.encode([texts[i] for i in batch]), strict=True):
            vectors[i] = vector
        if progress is not None:
            progress(min(start + BATCH, len(texts)), len(texts))
    return vectors


def _offset(progress: Progress, done_before: int, total: int) -> Progress:
    return lambda done, _: progress(done_before + done, total)


def _read(path: Path) -> dict[str, Vectors]:
    try:
        with np.load(path) as data:
            keys, matrix = data["keys"], data["vectors"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        return {}  # an unreadable cache is rebuilt, never trusted
    return {str(k): matrix[i] for i, k in enumerate(keys)}
