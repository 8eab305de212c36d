"""Engine and sessions for SQLite (aiosqlite) or PostgreSQL (asyncpg), chosen by the URL."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_connection

_WRITING: ContextVar[bool] = ContextVar("helpline_writing", default=False)
_QUICK: ContextVar[bool] = ContextVar("helpline_quick", default=False)


def _inline() -> bool:
    """Whether SQLite statements run on the loop's thread here (`storage.sqlite_connection`)."""
    return _WRITING.get() or _QUICK.get()


class Database:
    """One engine and its session factory; `session()` opens a unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)
        self.session = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession)
        self._write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Around a transaction that writes. SQLite has one writer at a time, and a second one
        waits in SQLite's busy handler, which sleeps in steps of up to 100 ms: with ten
        customers at once one message in twenty waited most of a second. So this process
        queues its SQLite writers here instead, in order and without sleeping (reads still run
        beside them). The writer's statements run on the event loop's thread, without waiting
        for the loop to come round between them (`storage.sqlite_connection`). A unit of work
        inside another does not wait for itself. PostgreSQL locks rows, not the database:
        nothing to do."""
        if not self.is_sqlite or _WRITING.get():
            yield
            return
        lock = self._write_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with lock:
            token = _WRITING.set(True)
            try:
                yield
            finally:
                _WRITING.reset(token)

    @asynccontextmanager
    async def quick_session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads that take a moment, such as a lookup by an index. On SQLite its
        statements run on the event loop's thread, like the writer's, instead of a round trip
        to the connection's thread for each step, which under load costs more than the read.
        Long reads (reports, exports) use `session()` and stay off the loop. PostgreSQL:
        nothing changes."""
        token = _QUICK.set(True)
        try:
            async with self.session() as session:
                yield session
        finally:
            _QUICK.reset(token)

    async def dispose(self) -> None:
        await self.engine.dispose()


# How long a client should wait before sending again while the database is unreachable.
RETRY_AFTER_S = 5


def unavailable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) says the database cannot be reached right now -
    refused, lost, shutting down or starting up, locked - rather than that a statement was
    wrong. Callers answer "try again shortly" (HTTP 503) and keep nothing half-done."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(
            current,
            exc.OperationalError
            | exc.InterfaceError
            | exc.TimeoutError  # no pooled connection came free in time
            | ConnectionError  # refused or reset
            | TimeoutError  # connecting timed out
            | asyncpg.PostgresConnectionError
            | asyncpg.CannotConnectNowError
            | asyncpg.AdminShutdownError
            | asyncpg.InterfaceError,
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def create_engine(url: str) -> AsyncEngine:
    """The engine for `url`. Statement parameters (message texts, e-mails) are kept out of
    error messages and so out of the logs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            async_creator=partial(
                sqlite_connection.connect,
                parsed.database or ":memory:",
                inline=_inline,
                busy_timeout_s=30,
            ),
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "savepoint", _sqlite_begin_before_savepoint)
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts the database; it syncs at checkpoints, not every commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def begin_sqlite(connection: Connection, how: str = "DEFERRED") -> None:
    """Begin SQLite's transaction now, unless the driver is in one: sqlite3 begins it only at
    the first INSERT, UPDATE or DELETE. `how` IMMEDIATE also takes the write lock at once."""
    driver = connection.connection.driver_connection  # aiosqlite's Connection
    if driver is not None and not driver.in_transaction:
        connection.exec_driver_sql(f"BEGIN {how}")


def _sqlite_begin_before_savepoint(connection: Connection, _name: str) -> None:
    """A SAVEPOINT issued before sqlite3's late BEGIN is the outermost one, and releasing it
    commits at once, outside the unit of work; so begin the real transaction first. Everything
    else keeps sqlite3's own transaction control, whose late BEGIN lets concurrent writers wait
    instead of failing."""
    begin_sqlite(connection)
