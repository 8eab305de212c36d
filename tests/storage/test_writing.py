"""Writers on SQLite queue in this process instead of sleeping in SQLite's busy handler; on
PostgreSQL they run side by side. Every write lands either way."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import Database
from storage.models import Customer


async def write_customers(db: Database, names: list[str], log: list[str]) -> None:
    async with db.writing(), db.session() as session, session.begin():
        log.append(f"in {names[0]}")
        for name in names:
            session.add(Customer(display_name=name))
            await session.flush()
            await asyncio.sleep(0.01)  # other tasks run meanwhile
        log.append(f"out {names[0]}")


async def test_writers_take_turns_on_sqlite_and_not_on_postgres(database_url: str) -> None:
    db = Database(database_url)
    log: list[str] = []
    batches = [[f"c{b}-{i}" for i in range(5)] for b in range(4)]
    await asyncio.gather(*(write_customers(db, names, log) for names in batches))
    async with db.session() as session:
        stored = await session.scalar(select(func.count()).select_from(Customer))
    await db.dispose()
    assert stored == 20
    pairs = itertools.pairwise(log)
    entered_together = any(a.startswith("in") and b.startswith("in") for a, b in pairs)
    assert entered_together == (not db.is_sqlite)
    if db.is_sqlite:
        assert log == [f"{step} c{b}-0" for b in range(4) for step in ("in", "out")]


async def test_a_unit_of_work_inside_another_does_not_wait_for_itself(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/nested.db")
    async with db.writing(), asyncio.timeout(5), db.writing():
        pass
    await db.dispose()


async def statement_thread(session: AsyncSession) -> int:
    """The thread SQLite ran a statement on, as SQLite itself reports it."""
    raw = await (await session.connection()).get_raw_connection()
    await raw.driver_connection.create_function("thread_ident", 0, threading.get_ident)
    return int(await session.scalar(text("SELECT thread_ident()")))


async def test_the_writer_and_quick_reads_run_on_the_loops_thread_and_other_sessions_do_not(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    try:
        async with db.writing(), db.session() as session:
            writer = await statement_thread(session)
        async with db.quick_session() as session:
            quick = await statement_thread(session)
        async with db.session() as session:
            other = await statement_thread(session)
    finally:
        await db.dispose()
    assert writer == quick == threading.get_ident()
    assert other != threading.get_ident()


async def test_a_writer_that_finds_sqlite_locked_waits_off_the_loop_and_lands(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    other = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        writer = asyncio.create_task(write_customers(db, ["late"], []))
        await asyncio.sleep(0.5)
        assert not writer.done()
        assert ticks >= 20  # the loop kept running while the writer waited
        other.execute("COMMIT")
        async with asyncio.timeout(10):
            await writer
        async with db.session() as session:
            names = (await session.scalars(select(Customer.display_name))).all()
    finally:
        ticker.cancel()
        other.close()
        await db.dispose()
    assert names == ["late"]
