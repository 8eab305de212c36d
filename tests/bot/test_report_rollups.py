"""The stored report rows and rollups equal the in-memory fold of the same events, on SQLite and
PostgreSQL: after the first refresh, after late events (a late rating, a reopen), for a period
that starts inside a day, and after the satisfaction model is fitted again. The rollups that a
refresh moves by differences are, row for row, the ones a rebuild from every conversation's row
makes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

import bot.report_store
from bot.report_store import mark_all_dirty, rebuild_all, refit_due, refresh, stored_model
from bot.reporting import dashboard_from_events, load_conversations, load_dashboard
from scoring.conversations import ReportFilter
from scoring.quality import EventRecord
from storage import migrate
from storage.database import Database
from storage.models import (
    Conversation,
    Customer,
    Event,
    Queue,
    ReportAgentRollup,
    ReportConversation,
    ReportDirty,
    ReportModel,
    ReportRollup,
    Ticket,
    User,
)
from tests.scoring.test_dashboard import DAY1, DAY2, Story, events

NOW = DAY2 + timedelta(days=2)
FILTERS = [
    ReportFilter(),
    ReportFilter(since=DAY1 + timedelta(hours=4)),  # starts inside the first day
    ReportFilter(queue="billing"),
    ReportFilter(agent_id=2),
    ReportFilter(intent="refund_request", channel="web"),
]


async def write(db: Database, records: list[EventRecord]) -> None:
    """Store events (and the rows they point at) as the actions would."""
    async with db.session() as session, session.begin():
        await _referenced_rows(session, records)
        for e in records:
            session.add(Event(type=e.type, conversation_id=e.conversation_id, ticket_id=e.ticket_id,
                              agent_id=e.agent_id, queue=e.queue, payload=e.payload,
                              created_at=e.created_at))  # fmt: skip


async def _referenced_rows(session: AsyncSession, records: list[EventRecord]) -> None:
    if await session.get(Queue, 1) is None:
        session.add(Queue(id=1, name="billing"))
        session.add(Customer(id=1, display_name="Customer"))
        for agent, name in ((1, "Ada"), (2, "Bo")):
            session.add(User(id=agent, username=name.lower(), display_name=name,
                             password_hash="-", role="agent"))  # fmt: skip
        await session.flush()
    for conversation in sorted({e.conversation_id for e in records if e.conversation_id}):
        if await session.get(Conversation, conversation) is None:
            session.add(Conversation(id=conversation, customer_id=1, channel="web"))
    await session.flush()
    for e in records:
        if e.ticket_id is not None and await session.get(Ticket, e.ticket_id) is None:
            key = f"t{e.ticket_id}"
            session.add(Ticket(id=e.ticket_id, conversation_id=e.conversation_id,
                               idempotency_key=key, subject="help", queue_id=1))  # fmt: skip
            await session.flush()


async def both(db: Database, chosen: ReportFilter) -> tuple[dict[str, Any], dict[str, Any]]:
    async with db.session() as session:
        stored = await load_dashboard(session, chosen, NOW)
        model = await stored_model(session)
        folded = await dashboard_from_events(session, chosen, model, NOW)
    return stored, folded


async def assert_rollups_equal_the_fold(db: Database) -> dict[str, Any]:
    for chosen in FILTERS:
        stored, folded = await both(db, chosen)
        assert stored == folded, chosen
    async with db.session() as session, session.begin():
        kept = await _rollup_rows(session)
        await rebuild_all(session)
        assert kept == await _rollup_rows(session)
        await session.rollback()
    return (await both(db, ReportFilter()))[0]


async def _rollup_rows(session: AsyncSession) -> list[list[tuple[Any, ...]]]:
    """Every row of both rollups (keys, measures and row count), sorted."""
    found = []
    for table in (ReportRollup, ReportAgentRollup):
        columns = [c for c in table.__table__.columns if c.name != "id"]
        found.append(sorted((tuple(r) for r in await session.execute(select(*columns))), key=repr))
    return found


def late_story() -> Story:
    c5 = Story(5, DAY1 + timedelta(hours=8), "web", "refund_request")
    return c5.handled(15, agent=1, rating=4)


async def test_rollups_equal_the_fold_and_follow_late_events(db: Database) -> None:
    await write(db, events() + late_story().events)
    before = await assert_rollups_equal_the_fold(db)
    assert before["summary"]["conversations"] == 5 and before["summary"]["ratings"] == 4
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ReportDirty)) == 0
        assert await session.scalar(select(func.count()).select_from(ReportRollup)) > 0

    # Days later: conversation 2 (day 1) is rated, and ticket 11 is reopened and resolved again.
    late = NOW + timedelta(hours=1)
    await write(db, [
        EventRecord("csat_recorded", late, None, None, None, {"rating": 1}, 2),
        EventRecord("ticket_reopened", late, 11, 1, "billing", {"previous_agent": 1}, 1),
        EventRecord("ticket_assigned", late, 11, 2, "billing", {}, 1),
        EventRecord("ticket_resolved", late + timedelta(minutes=5), 11, 2, "billing",
                    {"seconds": 9000}, 1),
    ])  # fmt: skip
    after = await assert_rollups_equal_the_fold(db)
    assert after["summary"]["ratings"] == 5
    assert after["trends"]["labels"][0] == DAY1.date().isoformat()  # still counted on day 1
    ada = next(p for p in after["performance"] if p["name"] == "Ada")
    assert ada["reopen_rate"] == 50.0  # one of her two resolved tickets came back
    rows, total = await _conversations(db, ReportFilter(agent_id=2))
    assert total == 3 and 1 in [r["id"] for r in rows]  # conversation 1 now belongs to Bo


async def _conversations(db: Database, chosen: ReportFilter) -> tuple[list[dict[str, Any]], int]:
    async with db.session() as session:
        return await load_conversations(session, chosen)


async def test_a_refitted_model_repredicts_every_conversation(db: Database) -> None:
    stories = []
    for n in range(40):
        story = Story(100 + n, DAY1 + timedelta(hours=n), "web", "refund_request")
        stories.append(story.handled(1000 + n, agent=1 + n % 2, rating=5 if n % 3 else 1,
                                     breached=n % 3 == 0))  # fmt: skip
    await write(db, [e for s in stories for e in s.events])
    async with db.session() as session, session.begin():
        assert await refresh(session) == 40
        model = await stored_model(session)
    assert model.learned_from == 40
    stored, folded = await both(db, ReportFilter())
    assert stored == folded
    assert stored["model"]["learned_from"] == 40


async def test_a_refresh_folds_at_most_the_conversations_asked_for(db: Database) -> None:
    await write(db, events() + late_story().events)
    await assert_rollups_equal_the_fold(db)
    async with db.session() as session, session.begin():
        await mark_all_dirty(session)  # each of the five conversations once
    async with db.session() as session, session.begin():
        assert await refresh(session, 2) == 2
        left = select(func.count(ReportDirty.conversation_id.distinct()))
        assert await session.scalar(left) == 3
    async with db.session() as session, session.begin():
        assert await refresh(session) == 3
    await assert_rollups_equal_the_fold(db)


def test_refits_come_as_the_ratings_grow_by_a_tenth() -> None:
    assert refit_due(1, 0) and not refit_due(0, 0)  # the first rating
    assert refit_due(6, 5) and not refit_due(5, 5)  # one more, below ten
    assert not refit_due(109, 100) and refit_due(110, 100) and refit_due(90, 100)
    assert not refit_due(2199, 2000) and refit_due(2200, 2000)


async def test_rebuild_folds_everything_again_to_the_same_figures(db: Database) -> None:
    await write(db, events())
    before = await assert_rollups_equal_the_fold(db)
    async with db.session() as session, session.begin():
        await mark_all_dirty(session)
        assert await refresh(session) == 4
    assert await assert_rollups_equal_the_fold(db) == before


@pytest.mark.parametrize("batch", [500, 3])  # 3: several rounds, folded ahead on SQLite
async def test_concurrent_refreshes_take_turns(
    db: Database, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The periodic tick and a page (or `helpline report`) may refresh at the same moment, on a
    database where nothing was folded yet: both create no second model row, and together they
    fold each conversation once."""
    monkeypatch.setattr(bot.report_store, "BATCH", batch)
    await write(db, events())

    async def refresh_alone() -> int:
        async with db.session() as session, session.begin():
            return await refresh(session)

    async with asyncio.timeout(60):
        folded = await asyncio.gather(*(refresh_alone() for _ in range(4)))
    # A round is a number of conversations, each with all its marks: however many events a
    # conversation has, it is stored once (in rounds of 3 marks it was 12 times, each a fold).
    assert sorted(folded) == [0, 0, 0, 4]
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ReportModel)) == 1
    await assert_rollups_equal_the_fold(db)


@pytest.mark.parametrize("batch", [500, 3])
async def test_an_event_stored_while_a_refresh_folds_is_folded_after(
    sqlite_url: str, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a refresh folds before it takes the write lock (which holds up the customers'
    turns): a rating stored in between is not in that fold; under the lock the refresh sees
    that conversation 2 has a new event, folds it again, and deletes its new mark too."""
    db = Database(sqlite_url)
    folded, go_on = asyncio.Event(), asyncio.Event()
    real_lock = bot.report_store._lock

    async def lock_later(session: AsyncSession, *, wait: bool) -> bool:
        folded.set()
        await go_on.wait()
        return await real_lock(session, wait=wait)

    async def refresh_alone() -> int:
        async with db.session() as session, session.begin():
            return await refresh(session)

    async def rating_of_2() -> int | None:
        async with db.session() as session:
            query = select(ReportConversation.rating).where(ReportConversation.conversation_id == 2)
            return await session.scalar(query)

    try:
        await write(db, events())
        monkeypatch.setattr(bot.report_store, "BATCH", batch)
        monkeypatch.setattr(bot.report_store, "_lock", lock_later)
        first = asyncio.create_task(refresh_alone())
        async with asyncio.timeout(30):
            await folded.wait()
            await write(db, [EventRecord("csat_recorded", NOW, None, None, None, {"rating": 2}, 2)])
            go_on.set()
            assert await first == 4  # conversation 2 folded again under the lock
        assert await rating_of_2() == 2
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(ReportDirty)) == 0
        monkeypatch.setattr(bot.report_store, "_lock", real_lock)
        await assert_rollups_equal_the_fold(db)
    finally:
        await db.dispose()


async def test_a_page_does_not_wait_for_a_running_refresh(postgres_url: str) -> None:
    """On PostgreSQL (its advisory lock; on SQLite a page waits for the refresh's commit)."""
    db = Database(postgres_url)
    try:
        await _page_does_not_wait(db)
    finally:
        await db.dispose()


async def _page_does_not_wait(db: Database) -> None:
    await write(db, events())
    async with db.session() as busy, busy.begin():
        assert await refresh(busy) == 4  # holds the lock until this transaction ends
        await write(db, late_story().events)
        async with db.session() as page, page.begin():
            assert await refresh(page, wait=False) == 0
    async with db.session() as page, page.begin():
        assert await refresh(page, wait=False) == 1


async def test_upgrading_an_existing_log_marks_every_conversation(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await migrate.upgrade_async(url, "0004")  # before the report tables and their trigger
    database = Database(url)
    try:
        await write(database, events())
        await migrate.upgrade_async(url)
        stored, folded = await both(database, ReportFilter())
        assert stored == folded and stored["summary"]["conversations"] == 4
        await asyncio.to_thread(command.downgrade, migrate.alembic_config(url), "0004")
        async with database.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert not {t for t in tables if t.startswith("report_")}
        await write(database, late_story().events)  # no trigger left to write to a dropped table
    finally:
        await database.dispose()


async def test_marks_on_sqlite_are_one_a_conversation(db: Database) -> None:
    """SQLite's refresh reads and deletes the marks under its write lock, so a conversation
    that is marked already gets no second mark; PostgreSQL's runs beside the turns and deletes
    only the marks it read, so every event keeps its own there."""
    records = events()
    await write(db, records)
    async with db.session() as session:
        marks = await session.scalar(select(func.count()).select_from(ReportDirty))
    conversations = {e.conversation_id for e in records if e.conversation_id is not None}
    per_event = sum(e.conversation_id is not None for e in records)
    assert per_event > len(conversations)
    assert marks == (len(conversations) if db.is_sqlite else per_event)
    before = await assert_rollups_equal_the_fold(db)
    late = NOW + timedelta(hours=1)  # conversation 2, folded by now, is rated and rated again
    await write(db, [
        EventRecord("csat_recorded", late, None, None, None, {"rating": 1}, 2),
        EventRecord("csat_recorded", late, None, None, None, {"rating": 5}, 2),
    ])  # fmt: skip
    async with db.session() as session:
        marks = await session.scalar(select(func.count()).select_from(ReportDirty))
    assert marks == (1 if db.is_sqlite else 2)
    after = await assert_rollups_equal_the_fold(db)
    assert after["summary"]["ratings"] == before["summary"]["ratings"] + 2  # both counted


async def test_upgrading_sqlite_keeps_one_mark_a_conversation(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await migrate.upgrade_async(url, "0007")  # a mark per event
    database = Database(url)
    try:
        await write(database, events())
        async with database.session() as session:
            before = await session.scalar(select(func.count()).select_from(ReportDirty))
        await migrate.upgrade_async(url)
        async with database.session() as session:
            marked = select(ReportDirty.conversation_id).order_by(ReportDirty.conversation_id)
            assert list(await session.scalars(marked)) == [1, 2, 3, 4]
        assert before is not None and before > 4
        stored, folded = await both(database, ReportFilter())
        assert stored == folded and stored["summary"]["conversations"] == 4
    finally:
        await database.dispose()


async def test_upgrading_counts_the_rows_of_stored_rollups(db: Database, database_url: str) -> None:
    """Rollups stored before they counted their rows get their counts at the upgrade; later
    refreshes move them by differences from there, and delete a row that sums none."""
    await write(db, events() + late_story().events)  # conversations 1 and 5 share a rollup
    await assert_rollups_equal_the_fold(db)
    config = migrate.alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "0006")
    await migrate.upgrade_async(database_url)
    await assert_rollups_equal_the_fold(db)

    late = NOW + timedelta(hours=1)  # conversation 3 (Bo's alone on Telegram) goes to Ada
    await write(db, [
        EventRecord("ticket_transferred", late, 13, 2, "billing", {"from_agent": 2, "to_agent": 1},
                    3),
        EventRecord("ticket_assigned", late, 13, 1, "billing", {}, 3),
    ])  # fmt: skip
    await assert_rollups_equal_the_fold(db)
    async with db.session() as session:
        telegram = select(ReportRollup.agent_id).where(ReportRollup.channel == "telegram")
        assert list(await session.scalars(telegram)) == [1]
