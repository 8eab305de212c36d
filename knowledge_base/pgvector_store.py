"""Chunk vectors in PostgreSQL with the pgvector extension: a `vector(n)` column per chunk for
its title and its text, and the nearest chunks found in SQL with the cosine distance `<=>`.

The index calls the store from worker threads while the application's event loop serves, so
the store runs its own small event loop on a daemon thread with an asyncpg pool, and each call
waits for its result there."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg
import numpy as np

from knowledge_base.index import TITLE_WEIGHT, DenseStore
from nlu.encoder import Vectors

TABLE = "kb_chunk_vectors"
T = TypeVar("T")


class PgVectorStore(DenseStore):
    """Chunk vectors in the `kb_chunk_vectors` table, created on first use."""

    def __init__(self, dsn: str, dimensions: int) -> None:
        self.dimensions = dimensions
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pgvector", daemon=True)
        self._thread.start()
        try:
            self._pool: asyncpg.Pool = self._run(_open_pool(dsn))
            self._run(self._create_table())
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    def available(dsn: str) -> bool:
        """Whether the server at `dsn` has pgvector installed (or can install it)."""
        return asyncio.run(_has_vector(dsn))

    def replace(
        self, keys: list[str], titles: Vectors, chunks: Vectors, dropped: set[str] | None
    ) -> None:
        self._run(self._replace(keys, titles, chunks, dropped))

    def nearest(self, query: Vectors, k: int) -> list[tuple[str, float]]:
        return self._run(self._nearest(query, k))

    def column_type(self) -> str:
        """The embedding column's SQL type, e.g. `vector(384)`."""
        sql = (
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = $1::regclass AND attname = 'embedding'"
        )
        return str(self._run(self._pool.fetchval(sql, TABLE)))

    def keys(self) -> set[str]:
        return {r["key"] for r in self._run(self._pool.fetch(f"SELECT key FROM {TABLE}"))}  # noqa: S608 (a constant)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self._pool.close())
        self._stop_loop()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _create_table(self) -> None:
        async with self._pool.acquire() as connection:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
            await connection.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                "key varchar(64) PRIMARY KEY, "
                f"title_embedding vector({self.dimensions}) NOT NULL, "
                f"embedding vector({self.dimensions}) NOT NULL)"
            )

    async def _replace(
        self, keys: list[str], titles: Vectors, chunks: Vectors, dropped: set[str] | None
    ) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            if dropped is None:
                await connection.execute(
                    f"DELETE FROM {TABLE} WHERE NOT (key = ANY($1::text[]))",  # noqa: S608 (a constant)
                    keys,
                )
            elif dropped:
                await connection.execute(
                    f"DELETE FROM {TABLE} WHERE key = ANY($1::text[])",  # noqa: S608 (a constant)
                    sorted(dropped),
                )
            present = {
                r["key"]
                for r in await connection.fetch(
                    f"SELECT key FROM {TABLE} WHERE key = ANY($1::text[])",  # noqa: S608 (a constant)
                    keys,
                )
            }
            rows = {
                key: (key, _literal(titles[i]), _literal(chunks[i]))
                for i, key in enumerate(keys)
                if key not in present
            }
            await connection.executemany(
                f"INSERT INTO {TABLE} (key, title_embedding, embedding) "  # noqa: S608 (a constant)
                "VALUES ($1, $2::vector, $3::vector) ON CONFLICT (key) DO NOTHING",
                list(rows.values()),
            )

    async def _nearest(self, query: Vectors, k: int) -> list[tuple[str, float]]:
        # The vectors are unit length, so 1 - (a <=> b) is their dot product, as in memory.
        similarity = (
            f"{TITLE_WEIGHT} * (1 - (title_embedding <=> $1::vector)) + "
            f"{1 - TITLE_WEIGHT} * (1 - (embedding <=> $1::vector))"
        )
        rows = await self._pool.fetch(
            f"SELECT key, {similarity} AS similarity FROM {TABLE} "  # noqa: S608 (constants)
            "ORDER BY similarity DESC, key LIMIT $2",
            _literal(query),
            k,
        )
        return [(r["key"], float(r["similarity"])) for r in rows]


async def _open_pool(dsn: str) -> asyncpg.Pool:
    """In the store's own loop: asyncpg binds a pool to the loop it is created in."""
    return await asyncpg.create_pool(dsn, min_size=1, max_size=4)


async def _has_vector(dsn: str) -> bool:
    connection = await asyncpg.connect(dsn)
    try:
        found = await connection.fetchval(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
        )
    finally:
        await connection.close()
    return bool(found)


def _literal(vector: Vectors) -> str:
    """pgvector's text form: `[0.1,0.2,...]`."""
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float32)) + "]"
