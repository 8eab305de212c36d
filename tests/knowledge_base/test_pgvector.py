"""pgvector on PostgreSQL: the chunk vectors in a `vector(384)` column, ranked with `<=>` in SQL
as the in-memory index ranks them; live edits change only their rows; a server without the
extension keeps the vectors in memory. The server is the `pgserver` wheel's PostgreSQL, which
bundles pgvector."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.components import build_kb_from_database, dense_store_for
from bot.settings import Settings
from knowledge_base.documents import Article
from knowledge_base.embedding_cache import EmbeddingCache
from knowledge_base.index import KnowledgeBaseIndex
from knowledge_base.pgvector_store import PgVectorStore
from nlu.encoder import Encoder
from storage import migrate
from tests.knowledge_base.test_incremental import CountingEncoder
from tests.servers import PostgresServer

ARTICLES = [
    Article("hours", "Opening hours", "We open at 9 on weekdays and at 10 on Saturdays.", "/kb/h"),
    Article("returns", "Returns", "Returns are free within 30 days of delivery.", "/kb/r"),
    Article(
        "shipping",
        "Shipping",
        "# Costs\n\nShipping costs 4.95 EUR.\n\n# Times\n\nParcels arrive in 2 days.",
        "/kb/s",
    ),
    Article("gift-cards", "Gift cards", "Gift cards never expire and work online.", "/kb/g"),
]
QUERIES = ["when do you open", "can I send it back", "how much is delivery", "do vouchers expire"]


@pytest.fixture(scope="module")
def pgvector_server() -> Iterator[str]:
    """A PostgreSQL with pgvector from the `pgserver` wheel; the URL of its maintenance DB."""
    # platformdirs warns (an error under pytest) without a private runtime folder
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="helpline-xdg-"))
    import pgserver  # noqa: PLC0415 (needs the runtime folder above)

    # Not under pytest's folder: pytest keeps that private (0700), and as root pgserver runs
    # PostgreSQL as its own system user, who must reach the data folder.
    data = Path(tempfile.mkdtemp(prefix="helpline-pgvector-"))
    server = pgserver.get_server(data, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)


def _database(server_uri: str) -> str:
    """A fresh database on the server, as an asyncpg DSN."""
    name = f"t_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        connection = await asyncpg.connect(server_uri)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    return make_url(server_uri).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def dsn(pgvector_server: str) -> str:
    return _database(pgvector_server)


def test_sql_ranking_equals_the_in_memory_ranking(dsn: str, encoder: Encoder) -> None:
    cache = EmbeddingCache()
    memory = KnowledgeBaseIndex(ARTICLES, encoder, cache=cache)
    store = PgVectorStore(dsn, dimensions=384)
    try:
        in_sql = KnowledgeBaseIndex(ARTICLES, encoder, cache=cache, dense=store)
        assert store.column_type() == "vector(384)"
        assert len(store.keys()) == len(in_sql.chunks)
        for query in QUERIES:
            expected = memory.search(query, k=3)
            found = in_sql.search(query, k=3)
            assert [p.chunk for p in found] == [p.chunk for p in expected], query
            for got, want in zip(found, expected, strict=True):
                assert got.similarity == pytest.approx(want.similarity, abs=1e-4)
                assert got.score == pytest.approx(want.score, abs=1e-4)
        best = in_sql.search("do vouchers expire", k=2, distinct_articles=True)
        assert best[0].chunk.article.id == "gift-cards"
    finally:
        store.close()


def test_an_edit_rewrites_only_its_rows(dsn: str, encoder: Encoder) -> None:
    counting = CountingEncoder(encoder)
    store = PgVectorStore(dsn, dimensions=384)
    try:
        index = KnowledgeBaseIndex(ARTICLES, counting, dense=store)
        before = store.keys()
        counting.texts.clear()
        edited = Article("returns", "Returns", "Returns are free within 60 days.", "/kb/r")
        assert index.upsert(edited) == 1  # one passage encoded, one row written
        after = store.keys()
        assert len(before - after) == 1 and len(after - before) == 1
        assert "60 days" in index.search("how long can I return", k=1)[0].chunk.text
        index.remove("gift-cards")
        assert len(store.keys()) == len(index.chunks)
        found = index.search("do gift cards expire", k=5, distinct_articles=True)
        assert "gift-cards" not in {p.chunk.article.id for p in found}
    finally:
        store.close()


def test_the_served_index_uses_pgvector_when_the_database_has_it(
    pgvector_server: str, base_settings: Settings, encoder: Encoder, tmp_path: Path
) -> None:
    dsn = make_url(_database(pgvector_server))
    url = dsn.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    migrate.upgrade(url)
    settings = base_settings.model_copy(update={"database_url": url, "base_dir": tmp_path})
    sources = [base_settings.resolve(p) for p in base_settings.knowledge_base.sources]
    kb_settings = settings.knowledge_base.model_copy(update={"sources": tuple(sources)})
    settings = settings.model_copy(update={"knowledge_base": kb_settings})
    index, summary = build_kb_from_database(settings, encoder)
    try:
        assert summary.errors == [] and len(index.articles) > 10
        assert isinstance(index.dense_store, PgVectorStore)
        best = index.search("how long does shipping to Germany take?", k=1)[0]
        assert best.chunk.article.id == "shipping-times-and-costs"
    finally:
        index.close()


def test_postgres_without_the_extension_keeps_vectors_in_memory(
    postgres: PostgresServer, encoder: Encoder
) -> None:
    assert dense_store_for(postgres.url(), encoder) is None
    assert dense_store_for("sqlite+aiosqlite:///x.db", encoder) is None


def test_a_stale_worker_never_drops_another_workers_newer_rows(dsn: str, encoder: Encoder) -> None:
    cache = EmbeddingCache()
    first, second = PgVectorStore(dsn, dimensions=384), PgVectorStore(dsn, dimensions=384)
    try:
        worker_a = KnowledgeBaseIndex(ARTICLES, encoder, cache=cache, dense=first)
        worker_b = KnowledgeBaseIndex(ARTICLES, encoder, cache=cache, dense=second)
        edited = Article("returns", "Returns", "Returns are free within 60 days.", "/kb/r")
        worker_a.upsert(edited)
        fresh = Article("socks", "Wool socks", "Our merino socks are knitted in Portugal.", "/kb/w")
        worker_b.upsert(fresh)  # B still holds the old returns article
        assert "60 days" in worker_a.search("how long can I return", k=1)[0].chunk.text
        assert worker_b.search("where are the socks made", k=1)[0].chunk.article.id == "socks"
        worker_a.upsert(fresh)  # both workers in step again
        worker_b.upsert(edited)
        assert len(first.keys()) == len(worker_a.chunks) == len(worker_b.chunks)
    finally:
        first.close()
        second.close()
