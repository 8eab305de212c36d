"""Attachment bytes on disk, named by their SHA-256: written to a temporary file in the same
directory, then renamed into place, so a reader never sees a half-written file and a file sent
twice is kept once."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

HEAD_BYTES = 64  # enough of the start of a file to recognise its type


class FileStore:
    """A directory of content-addressed files; keys look like `ab/abcdef…` (the hex digest)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @contextlib.contextmanager
    def incoming(self) -> Iterator[IncomingFile]:
        """A temporary file to write into; unless `keep()` was called it is removed on exit."""
        spool = self.directory / "tmp"
        spool.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=spool, prefix="upload-")
        incoming = IncomingFile(self, Path(name), os.fdopen(handle, "wb"))
        try:
            yield incoming
        finally:
            incoming.close()
            if not incoming.kept:
                Path(name).unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        """Where the file with this key lives (the key is checked: never a path outside)."""
        prefix, _, digest = key.partition("/")
        if len(digest) != 64 or prefix != digest[:2] or not _is_hex(digest):
            raise ValueError(f"not a storage key: {key[:80]!r}")
        return self.directory / prefix / digest


class IncomingFile:
    """Bytes being received: counted, hashed, and the first HEAD_BYTES kept for sniffing."""

    def __init__(self, store: FileStore, path: Path, handle: BinaryIO) -> None:
        self._store, self._path, self._handle = store, path, handle
        self._hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.kept = False

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head = (self.head + chunk)[:HEAD_BYTES]

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def keep(self) -> str:
        """Flush to disk and rename into place; returns the storage key."""
        digest = self.sha256
        key = f"{digest[:2]}/{digest}"
        target = self._store.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._handle.flush()
        os.fsync(self._handle.fileno())  # the bytes are on disk before the name is
        self.close()
        os.replace(self._path, target)  # atomic; the same content may already be there
        self.kept = True
        return key

    def close(self) -> None:
        self._handle.close()


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
