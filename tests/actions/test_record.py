"""Audit rows and events are written with the transaction's commit, in the order they were
recorded; a savepoint that rolls back takes its own rows with it and no others."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import add_message, get_conversation, open_conversation
from actions.record import SYSTEM, record
from storage.database import Database
from storage.models import AuditLog, Event


class Undo(Exception):
    """Raised inside a savepoint to roll it back."""


def _note(session: AsyncSession, name: str, conversation_id: int) -> None:
    record(
        session,
        SYSTEM,
        name,
        ("conversation", conversation_id),
        event=name,
        conversation_id=conversation_id,
        payload={"name": name},
    )


async def _stored(db: Database) -> tuple[list[str], list[str]]:
    async with db.session() as session:
        events = await session.scalars(select(Event.type).order_by(Event.id))
        audit = await session.scalars(select(AuditLog.action).order_by(AuditLog.id))
        return list(events), list(audit)


async def _conversation(db: Database) -> int:
    async with db.session() as session, session.begin():
        conversation = await open_conversation(session, "rest", "record-test")
        return conversation.id


async def test_rows_are_written_with_the_commit_in_the_order_they_were_recorded(
    db: Database,
) -> None:
    conversation_id = await _conversation(db)
    async with db.session() as session, session.begin():
        _note(session, "first", conversation_id)
        async with session.begin_nested():
            _note(session, "inside a kept savepoint", conversation_id)
        with pytest.raises(Undo):
            async with session.begin_nested():
                _note(session, "inside an undone savepoint", conversation_id)
                async with session.begin_nested():
                    _note(session, "nested deeper in it", conversation_id)
                raise Undo
        _note(session, "last", conversation_id)
        assert await _stored(db) == (["conversation_started"], ["start_conversation"])
    kept = ["first", "inside a kept savepoint", "last"]
    assert await _stored(db) == (["conversation_started", *kept], ["start_conversation", *kept])
    async with db.session() as session:
        payloads = await session.scalars(
            select(Event.payload).where(Event.conversation_id == conversation_id)
        )
        assert [p.get("name") for p in payloads] == [None, *kept]


async def test_a_transaction_reads_the_rows_it_recorded(db: Database) -> None:
    conversation_id = await _conversation(db)
    async with db.session() as session, session.begin():
        _note(session, "seen", conversation_id)
        types = await session.scalars(
            select(Event.type).where(Event.conversation_id == conversation_id)
        )
        assert list(types) == ["conversation_started", "seen"]
        actions = await session.scalars(select(AuditLog.action).order_by(AuditLog.id))
        assert list(actions) == ["start_conversation", "seen"]
        _note(session, "after the read", conversation_id)
    assert (await _stored(db))[0] == ["conversation_started", "seen", "after the read"]


async def test_rows_of_a_rolled_back_or_abandoned_transaction_are_not_written_later(
    db: Database,
) -> None:
    conversation_id = await _conversation(db)
    async with db.session() as session:
        with pytest.raises(Undo):
            async with session.begin():
                _note(session, "rolled back", conversation_id)
                raise Undo
        async with session.begin():  # the same session again: nothing of the first comes back
            _note(session, "committed after it", conversation_id)
    async with db.session() as session:
        _note(session, "recorded, never committed", conversation_id)
    async with db.session() as session:
        _note(session, "recorded before the transaction began", conversation_id)  # begins it
        _note(session, "recorded in it", conversation_id)
        await session.commit()
    assert (await _stored(db))[0] == [
        "conversation_started",
        "committed after it",
        "recorded before the transaction began",
        "recorded in it",
    ]


async def test_a_message_stored_without_a_flush_is_the_target_of_its_audit_row(
    db: Database,
) -> None:
    """A turn's messages wait for one flush (`add_message(flush=False)`): their audit rows name
    them by the ids the flush gave them, whether the commit or a read writes the rows."""
    conversation_id = await _conversation(db)
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        first, _ = await add_message(session, conversation, "customer", "hi", flush=False)
        assert first.id is None  # not flushed yet
        targets = await session.scalars(
            select(AuditLog.target_id).where(AuditLog.action == "add_message")
        )
        assert list(targets) == [first.id] and first.id is not None
        second, _ = await add_message(session, conversation, "bot", "hello", flush=False)
        assert second.id is None
    async with db.session() as session:
        rows = await session.execute(
            select(AuditLog.target_type, AuditLog.target_id)
            .where(AuditLog.action == "add_message")
            .order_by(AuditLog.id)
        )
        assert [tuple(r) for r in rows] == [("message", first.id), ("message", second.id)]
        senders = await session.scalars(
            select(Event.type).where(Event.type.like("message_from_%")).order_by(Event.id)
        )
        assert list(senders) == ["message_from_customer", "message_from_bot"]
