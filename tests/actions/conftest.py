"""A migrated database (SQLite and PostgreSQL) with the billing and general queues.

Migrating costs more than most tests here, so the schema is migrated once per run: on SQLite
every test gets a copy of a migrated file, on PostgreSQL one migrated database is emptied
(TRUNCATE ... RESTART IDENTITY) before each test. tests/storage checks the migrations themselves."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest
from argon2 import PasswordHasher

from actions import users
from storage import migrate
from storage.database import Database
from storage.models import Base
from tests.servers import PostgresServer

T = TypeVar("T")
QUEUES = [users.QueueSpec("billing", ("billing",)), users.QueueSpec("general")]
# Argon2 with its cheapest parameters: the tests create many users, and the production cost
# (about 0.2 s a hash here) would dominate their run time. test_users checks the real hasher.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "helpline.db"
    _in_thread(migrate.upgrade, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer) -> str:
    name = f"tpl_{uuid.uuid4().hex[:12]}"
    _in_thread(asyncio.run, _run_sql(postgres, f'CREATE DATABASE "{name}"'))
    _in_thread(migrate.upgrade, postgres.url(name))
    return name


def _in_thread(function: Callable[[T], object], argument: T) -> None:
    """Run outside the test's event loop (these fixtures are first asked for from inside it)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(function, argument).result()


async def _run_sql(server: PostgresServer, sql: str) -> None:
    connection = await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh copy of the migrated schema, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "helpline.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = request.getfixturevalue("postgres_template")
    tables = ", ".join(f'"{t}"' for t in Base.metadata.tables)
    connection = await asyncpg.connect(
        host="127.0.0.1", port=server.port, user="postgres", database=name
    )
    try:
        await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()
    yield server.url(name)


@pytest.fixture
async def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    monkeypatch.setattr(users, "_hasher", CHEAP_HASHER)
    database = Database(database_url)
    async with database.session() as session, session.begin():
        await users.sync_queues(session, QUEUES)
    yield database
    await database.dispose()
