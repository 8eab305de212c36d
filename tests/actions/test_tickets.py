"""create_ticket, take_ticket, agent_reply and resolve_ticket, read back from the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from actions.conversations import get_conversation
from actions.errors import Conflict, Forbidden, InvalidInput
from actions.tickets import agent_reply, create_ticket, get_ticket, take_ticket
from storage.database import Database
from storage.models import Assignment, Ticket
from tests.actions.support import (
    count_rows,
    load_user,
    make_agent,
    new_handoff,
    read_conversation,
    read_events,
    read_messages,
    read_ticket,
    resolve,
    start_conversation,
    table_sizes,
)


async def _create(
    db: Database, conversation_id: int, queue: str = "billing", key: str | None = None
) -> tuple[int, bool]:
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        ticket, created = await create_ticket(
            session, conversation, queue, "refund", category="billing", idempotency_key=key
        )
        return ticket.id, created


async def _take(db: Database, ticket_id: int, user_id: int) -> None:
    async with db.session() as session, session.begin():
        await take_ticket(
            session, await get_ticket(session, ticket_id), await load_user(session, user_id)
        )


async def _reply(db: Database, ticket_id: int, user_id: int, text: str) -> int:
    async with db.session() as session, session.begin():
        ticket = await get_ticket(session, ticket_id)
        message = await agent_reply(session, ticket, await load_user(session, user_id), text)
        return message.id


async def test_create_ticket_stores_a_new_ticket_in_the_queue(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")

    ticket_id, created = await _create(db, conversation_id)

    assert created is True
    ticket = await read_ticket(db, ticket_id)
    assert (ticket.conversation_id, ticket.queue.name, ticket.status) == (
        conversation_id,
        "billing",
        "new",
    )
    assert (ticket.subject, ticket.category, ticket.assignee_id) == ("refund", "billing", None)
    [event] = await read_events(db, "ticket_created")
    assert (event.ticket_id, event.conversation_id, event.queue) == (
        ticket_id,
        conversation_id,
        "billing",
    )


async def test_create_ticket_is_idempotent_per_conversation(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    first, _ = await _create(db, conversation_id)
    sizes = await table_sizes(db)

    second, created = await _create(db, conversation_id, queue="general")

    assert (second, created) == (first, False)
    assert await table_sizes(db) == sizes


async def test_create_ticket_is_idempotent_per_key(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    first, _ = await _create(db, conversation_id, key="order-7")
    user_id = await make_agent(db, "ada")
    await _take(db, first, user_id)
    await resolve(db, first, user_id)  # no active ticket any more: only the key can match

    second, created = await _create(db, conversation_id, key="order-7")

    assert (second, created) == (first, False)
    assert await count_rows(db, Ticket) == 1
    assert len(await read_events(db, "ticket_created")) == 1


async def test_a_resolved_conversation_gets_a_new_ticket_without_a_key(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    first, _ = await _create(db, conversation_id)
    user_id = await make_agent(db, "ada")
    await _take(db, first, user_id)
    await resolve(db, first, user_id)

    second, created = await _create(db, conversation_id)

    assert created is True
    assert second != first
    assert (await read_ticket(db, second)).status == "new"


async def test_create_ticket_in_an_unknown_queue_is_invalid(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")

    with pytest.raises(InvalidInput, match="nowhere"):
        await _create(db, conversation_id, queue="nowhere")

    assert await count_rows(db, Ticket) == 0


async def test_an_agent_cannot_take_a_ticket_outside_their_queues(db: Database) -> None:
    ticket_id = (await new_handoff(db, "ana")).ticket.id
    outsider = await make_agent(db, "otto", ["general"], online=True)

    with pytest.raises(Forbidden):
        await _take(db, ticket_id, outsider)

    ticket = await read_ticket(db, ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("new", None)
    assert await count_rows(db, Assignment) == 0


async def test_an_agent_takes_a_ticket_from_their_queue(db: Database) -> None:
    handoff = await new_handoff(db, "ana")
    ada = await make_agent(db, "ada")

    await _take(db, handoff.ticket.id, ada)

    ticket = await read_ticket(db, handoff.ticket.id)
    assert (ticket.status, ticket.assignee_id) == ("open", ada)
    assert (await read_conversation(db, ticket.conversation_id)).status == "with_agent"
    [event] = await read_events(db, "ticket_assigned")
    assert (event.ticket_id, event.agent_id, event.queue) == (ticket.id, ada, "billing")


async def test_a_supervisor_can_take_a_ticket_from_any_queue(db: Database) -> None:
    ticket_id = (await new_handoff(db, "ana")).ticket.id
    boss = await make_agent(db, "sam", ["general"], role="supervisor")

    await _take(db, ticket_id, boss)

    ticket = await read_ticket(db, ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("open", boss)


async def test_taking_a_ticket_from_a_colleague_ends_their_assignment(db: Database) -> None:
    ticket_id = (await new_handoff(db, "ana")).ticket.id
    ada, bob = await make_agent(db, "ada"), await make_agent(db, "bob")
    await _take(db, ticket_id, ada)

    await _take(db, ticket_id, bob)

    assert (await read_ticket(db, ticket_id)).assignee_id == bob
    async with db.session() as session:
        assignments = list(await session.scalars(select(Assignment).order_by(Assignment.id)))
    assert [(a.agent_id, a.ended_at is None) for a in assignments] == [(ada, False), (bob, True)]


async def test_only_the_assignee_may_reply(db: Database) -> None:
    ticket_id = (await new_handoff(db, "ana")).ticket.id
    ada, bob = await make_agent(db, "ada"), await make_agent(db, "bob")
    await _take(db, ticket_id, ada)
    sizes = await table_sizes(db)

    with pytest.raises(Forbidden):
        await _reply(db, ticket_id, bob, "Hi, Bob here")

    assert await table_sizes(db) == sizes
    assert (await read_ticket(db, ticket_id)).first_response_at is None


async def test_the_first_reply_stops_the_first_response_clock_once(db: Database) -> None:
    ticket_id = (await new_handoff(db, "ana")).ticket.id
    ada = await make_agent(db, "ada")
    await _take(db, ticket_id, ada)

    first = await _reply(db, ticket_id, ada, "Hi, I am looking into it")
    after_first = await read_ticket(db, ticket_id)
    second = await _reply(db, ticket_id, ada, "Done: refunded")

    ticket = await read_ticket(db, ticket_id)
    messages = {m.id: m for m in await read_messages(db, ticket.conversation_id)}
    assert (messages[first].sender, messages[first].sender_user_id) == ("agent", ada)
    assert messages[second].text == "Done: refunded"
    assert ticket.first_response_at == after_first.first_response_at == messages[first].created_at
    [event] = await read_events(db, "first_response")
    assert (event.ticket_id, event.agent_id, event.queue) == (ticket_id, ada, "billing")
    expected = (messages[first].created_at - ticket.created_at).total_seconds()
    assert event.payload["seconds"] == pytest.approx(expected, abs=0.001)
    assert event.payload["seconds"] >= 0


async def test_resolve_ticket_asks_for_a_rating_and_records_the_duration(db: Database) -> None:
    ticket_id = (await new_handoff(db, "ana")).ticket.id
    ada = await make_agent(db, "ada")
    await _take(db, ticket_id, ada)

    await resolve(db, ticket_id, ada)

    ticket = await read_ticket(db, ticket_id)
    assert ticket.status == "resolved"
    assert ticket.resolved_at is not None
    assert ticket.resolved_at >= ticket.created_at
    assert (await read_conversation(db, ticket.conversation_id)).status == "awaiting_rating"
    [event] = await read_events(db, "ticket_resolved")
    assert (event.ticket_id, event.agent_id, event.queue) == (ticket_id, ada, "billing")
    expected = (ticket.resolved_at - ticket.created_at).total_seconds()
    assert event.payload["seconds"] == pytest.approx(expected, abs=0.001)


async def test_resolving_twice_is_a_conflict(db: Database) -> None:
    ticket_id = (await new_handoff(db, "ana")).ticket.id
    ada = await make_agent(db, "ada")
    await _take(db, ticket_id, ada)
    await resolve(db, ticket_id, ada)
    resolved_at = (await read_ticket(db, ticket_id)).resolved_at

    with pytest.raises(Conflict):
        await resolve(db, ticket_id, ada)

    assert (await read_ticket(db, ticket_id)).resolved_at == resolved_at
    assert len(await read_events(db, "ticket_resolved")) == 1


async def test_another_agent_cannot_resolve_the_ticket(db: Database) -> None:
    ticket_id = (await new_handoff(db, "ana")).ticket.id
    ada, bob = await make_agent(db, "ada"), await make_agent(db, "bob")
    await _take(db, ticket_id, ada)

    with pytest.raises(Forbidden):
        await resolve(db, ticket_id, bob)

    assert (await read_ticket(db, ticket_id)).status == "open"


async def test_replying_to_a_resolved_ticket_is_a_conflict(db: Database) -> None:
    ticket_id = (await new_handoff(db, "ana")).ticket.id
    ada = await make_agent(db, "ada")
    await _take(db, ticket_id, ada)
    await resolve(db, ticket_id, ada)

    with pytest.raises(Conflict):
        await _reply(db, ticket_id, ada, "one more thing")

    assert [
        m.sender
        for m in await read_messages(db, (await read_ticket(db, ticket_id)).conversation_id)
    ] == ["system"]
