"""Two units of work doing the same thing at once (a retried webhook, a double click) end with
one row, and the second one gets that row instead of an error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import add_message, get_conversation, open_conversation
from actions.csat import record_csat
from actions.errors import Conflict
from actions.tickets import create_ticket
from storage.database import Database
from storage.models import ChannelIdentity, Conversation, CsatResponse, Customer, Message, Ticket
from tests.actions.support import (
    count_rows,
    make_agent,
    new_handoff,
    read_conversation,
    read_events,
    resolve,
    start_conversation,
)

T = TypeVar("T")
HOLD_SECONDS = 0.3  # long enough for the second unit of work to reach the row the first holds


async def _race(db: Database, act: Callable[[AsyncSession], Awaitable[T]]) -> tuple[T, T]:
    """`act` in a first unit of work; while it is still open, `act` again in a second one."""

    async def second() -> T:
        async with db.session() as session, session.begin():
            return await act(session)

    async with db.session() as session, session.begin():
        first = await act(session)
        racer = asyncio.create_task(second())
        await asyncio.sleep(HOLD_SECONDS)
    return first, await racer


async def test_one_customer_writing_twice_at_once_gets_one_conversation(db: Database) -> None:
    async def first_message(session: AsyncSession) -> int:
        return (await open_conversation(session, "telegram", "chat-1")).id

    first, second = await _race(db, first_message)

    assert first == second
    assert await count_rows(db, Customer) == 1
    assert await count_rows(db, ChannelIdentity) == 1
    assert await count_rows(db, Conversation) == 1


async def test_a_message_delivered_twice_at_once_is_stored_once(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")

    async def deliver(session: AsyncSession) -> tuple[int, bool]:
        conversation = await get_conversation(session, conversation_id)
        message, new = await add_message(session, conversation, "customer", "hi", external_id="m-1")
        return message.id, new

    first, second = await _race(db, deliver)

    assert first[1] is True
    assert second == (first[0], False)
    assert await count_rows(db, Message) == 1


async def test_one_idempotency_key_used_twice_at_once_makes_one_ticket(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")

    async def escalate(session: AsyncSession) -> tuple[int, bool]:
        conversation = await get_conversation(session, conversation_id)
        ticket, created = await create_ticket(
            session, conversation, "billing", "refund", category=None, idempotency_key="order-7"
        )
        return ticket.id, created

    first, second = await _race(db, escalate)

    assert first[1] is True
    assert second == (first[0], False)
    assert await count_rows(db, Ticket) == 1


async def test_two_ratings_at_once_keep_the_first_and_reject_the_second(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)
    handoff = await new_handoff(db, "ana")
    await resolve(db, handoff.ticket.id, ada)
    conversation_id = handoff.ticket.conversation_id
    ratings = iter([5, 1])

    async def rate(session: AsyncSession) -> int:
        conversation = await get_conversation(session, conversation_id)
        return (await record_csat(session, conversation, next(ratings))).rating

    with pytest.raises(Conflict, match="already been rated"):
        await _race(db, rate)

    async with db.session() as session:
        assert list(await session.scalars(select(CsatResponse.rating))) == [5]
    assert len(await read_events(db, "csat_recorded")) == 1
    assert (await read_conversation(db, conversation_id)).status == "closed"
