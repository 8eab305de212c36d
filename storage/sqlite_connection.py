"""aiosqlite connections that can run a statement on the event loop's own thread.

aiosqlite runs every call on a thread of its own and hands the result back through the event
loop. A transaction of ten statements therefore waits ten times for the loop to come round, and
under load each wait is behind every other request's work: SQLite's one writer was held 11 to
12 ms a turn for 3 to 4 ms of work. While `inline()` says so (this process's writer, see
`Database.writing()`, and short reads, `Database.quick_session()`), a call runs at once on the
calling thread instead. It never waits there for a lock: the connection's busy timeout is 0 for
those calls, and a call that finds the database locked by another connection (another process,
or a writer outside the queue) is handed to the connection's thread, where SQLite's busy
handler waits for up to `busy_timeout_s` without holding up the loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite

# Codes with which SQLite says "locked by another connection, try again".
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_RECOVERY}


class LoopConnection(aiosqlite.Connection):
    def __init__(self, database: str, inline: Callable[[], bool], busy_timeout_s: float) -> None:
        super().__init__(
            partial(sqlite3.connect, database, timeout=busy_timeout_s, check_same_thread=False),
            iter_chunk_size=64,
        )
        self._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
        self._inline = inline
        self._busy_timeout_ms = round(busy_timeout_s * 1000)
        self._busy_ms = self._busy_timeout_ms  # what the connection has now

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        call = partial(fn, *args, **kwargs)
        if self._running and self._connection is not None and self._inline():
            try:
                return self._with_busy_timeout(0, call)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode not in _BUSY:
                    raise
        # aiosqlite leaves _execute unannotated.
        return await super()._execute(  # type: ignore[no-untyped-call]
            self._with_busy_timeout, self._busy_timeout_ms, call
        )

    def _with_busy_timeout(self, ms: int, call: Callable[[], Any]) -> Any:
        if self._busy_ms != ms:
            self._conn.execute(f"PRAGMA busy_timeout={ms}")
            self._busy_ms = ms
        return call()


async def connect(
    database: str, inline: Callable[[], bool], busy_timeout_s: float
) -> LoopConnection:
    connection = LoopConnection(database, inline, busy_timeout_s)
    await connection
    return connection
