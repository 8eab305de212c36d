"""Routing scenarios end to end through the actions: skills and languages, backlog draining in
priority order, away and offline agents, reopening, transfers, round robin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from actions.conversations import get_conversation, transcript
from actions.errors import InvalidInput
from actions.lifecycle import close_resolved, close_ticket, customer_wrote, reopen_ticket
from actions.record import SYSTEM
from actions.ticket_edits import add_internal_note, add_tag, set_priority, transfer_ticket
from actions.tickets import TicketFields, get_ticket
from actions.users import QueueSpec, sync_queues
from storage.database import Database
from storage.models import Queue, User, utcnow
from tests.actions.support import (
    assignee_of,
    go_online,
    load_user,
    make_agent,
    new_handoff,
    read_events,
    read_messages,
    read_ticket,
    reply,
    resolve,
    set_status,
)


async def test_a_ticket_needing_a_higher_skill_level_goes_to_the_agent_who_has_it(
    db: Database,
) -> None:
    await make_agent(db, "ada", online=True)  # billing at level 1, from the queue
    bob = await make_agent(db, "bob", online=True, skills={"billing": 3})
    await make_agent(db, "cy", online=True, skills={"billing": 2}, capacity=0)

    hard = await new_handoff(db, "c1", fields=TicketFields(skills={"billing": 2}))

    assert await assignee_of(db, hard.ticket.id) == bob


async def test_a_ticket_nobody_is_skilled_for_waits_and_others_pass_it(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)

    hard = await new_handoff(db, "c1", fields=TicketFields(skills={"billing": 2}))
    easy = await new_handoff(db, "c2")

    assert await assignee_of(db, hard.ticket.id) is None
    assert await assignee_of(db, easy.ticket.id) == ada


async def test_tickets_go_to_agents_who_speak_their_language(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True, languages=["en"])
    eva = await make_agent(db, "eva", online=True, languages=["es", "en"], capacity=1)

    spanish = await new_handoff(db, "c1", fields=TicketFields(language="es"))
    english = await new_handoff(db, "c2", fields=TicketFields(language="en"))
    more_spanish = await new_handoff(db, "c3", fields=TicketFields(language="es"))

    assert await assignee_of(db, spanish.ticket.id) == eva
    assert await assignee_of(db, english.ticket.id) == ada
    assert await assignee_of(db, more_spanish.ticket.id) is None  # eva is full; ada has no es


async def test_a_backlog_drains_in_priority_then_age_order(db: Database) -> None:
    ada = await make_agent(db, "ada", capacity=2)
    normal = await new_handoff(db, "c1")
    urgent = await new_handoff(db, "c2", fields=TicketFields(priority="urgent"))
    low = await new_handoff(db, "c3", fields=TicketFields(priority="low"))
    high = await new_handoff(db, "c4", fields=TicketFields(priority="high"))

    received = await go_online(db, ada)
    assert received == [urgent.ticket.id, high.ticket.id]

    assert await resolve(db, urgent.ticket.id, ada) == [normal.ticket.id]
    assert await resolve(db, high.ticket.id, ada) == [low.ticket.id]


async def test_an_away_agent_keeps_their_tickets_and_gets_no_new_ones(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)
    first = await new_handoff(db, "c1")
    await set_status(db, ada, "away")

    second = await new_handoff(db, "c2")

    assert await assignee_of(db, first.ticket.id) == ada
    assert await assignee_of(db, second.ticket.id) is None
    assert await set_status(db, ada, "online") == [second.ticket.id]


async def test_going_offline_hands_back_unanswered_tickets_to_the_queue(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)
    answered = await new_handoff(db, "c1")
    unanswered = await new_handoff(db, "c2")
    await reply(db, answered.ticket.id, ada)
    bob = await make_agent(db, "bob")
    await set_status(db, bob, "online")

    received = await set_status(db, ada, "offline")

    assert received == [unanswered.ticket.id]
    assert await assignee_of(db, unanswered.ticket.id) == bob
    assert await assignee_of(db, answered.ticket.id) == ada
    [event] = await read_events(db, "ticket_handed_back")
    assert (event.ticket_id, event.agent_id) == (unanswered.ticket.id, ada)


async def test_hand_back_can_be_turned_off_per_queue(db: Database) -> None:
    async with db.session() as session, session.begin():
        await sync_queues(session, [QueueSpec("billing", ("billing",), offline_hand_back=False)])
    ada = await make_agent(db, "ada", online=True)
    ticket = await new_handoff(db, "c1")

    await set_status(db, ada, "offline")

    assert await assignee_of(db, ticket.ticket.id) == ada


async def test_a_customer_reply_reopens_a_resolved_ticket_to_its_available_agent(
    db: Database,
) -> None:
    ada = await make_agent(db, "ada", online=True)
    handoff = await new_handoff(db, "c1")
    await resolve(db, handoff.ticket.id, ada)

    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, handoff.ticket.conversation_id)
        reopened = await customer_wrote(session, conversation, reopen_within_days=7)

    assert reopened is not None
    ticket = await read_ticket(db, handoff.ticket.id)
    assert (ticket.status, ticket.assignee_id, ticket.resolved_at) == ("open", ada, None)
    assert len(await read_events(db, "ticket_reopened")) == 1


async def test_a_reopened_ticket_whose_agent_is_away_is_routed_to_someone_else(
    db: Database,
) -> None:
    ada = await make_agent(db, "ada", online=True)
    handoff = await new_handoff(db, "c1")
    await resolve(db, handoff.ticket.id, ada)
    await set_status(db, ada, "away")
    bob = await make_agent(db, "bob", online=True)

    async with db.session() as session, session.begin():
        ticket = await get_ticket(session, handoff.ticket.id)
        assigned = await reopen_ticket(session, ticket, SYSTEM)

    assert [t.id for t in assigned] == [handoff.ticket.id]
    assert await assignee_of(db, handoff.ticket.id) == bob


async def test_an_old_resolution_is_not_reopened_and_a_closed_ticket_never(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)
    handoff = await new_handoff(db, "c1")
    await resolve(db, handoff.ticket.id, ada)
    later = utcnow() + timedelta(days=8)

    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, handoff.ticket.conversation_id)
        assert await customer_wrote(session, conversation, reopen_within_days=7, now=later) is None
        ticket = await get_ticket(session, handoff.ticket.id)
        await close_ticket(session, ticket, SYSTEM)
        assert await customer_wrote(session, conversation, reopen_within_days=7) is None

    assert (await read_ticket(db, handoff.ticket.id)).status == "closed"


async def test_transfer_to_another_queue_with_a_note(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)
    gus = await make_agent(db, "gus", ["general"], online=True)
    handoff = await new_handoff(db, "c1")

    async with db.session() as session, session.begin():
        ticket = await get_ticket(session, handoff.ticket.id)
        me = await load_user(session, ada)
        assigned = await transfer_ticket(
            session, ticket, me, to_queue="general", note="Not a billing question."
        )

    assert [t.id for t in assigned] == [handoff.ticket.id]
    ticket = await read_ticket(db, handoff.ticket.id)
    assert (ticket.queue.name, ticket.assignee_id) == ("general", gus)
    [note] = [m for m in await read_messages(db, ticket.conversation_id) if m.sender == "note"]
    assert (note.text, note.sender_user_id) == ("Not a billing question.", ada)
    [event] = await read_events(db, "ticket_transferred")
    assert (event.payload["from_queue"], event.payload["to_queue"]) == ("billing", "general")


async def test_transfer_to_a_colleague(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)
    bob = await make_agent(db, "bob")
    handoff = await new_handoff(db, "c1")

    async with db.session() as session, session.begin():
        ticket = await get_ticket(session, handoff.ticket.id)
        await transfer_ticket(
            session, ticket, await load_user(session, ada), to_agent=await load_user(session, bob)
        )

    assert await assignee_of(db, handoff.ticket.id) == bob
    gus = await make_agent(db, "gus", ["general"])
    with pytest.raises(InvalidInput, match="does not work in"):
        async with db.session() as session, session.begin():
            ticket = await get_ticket(session, handoff.ticket.id)
            other = await load_user(session, gus)
            await transfer_ticket(session, ticket, await load_user(session, bob), to_agent=other)


async def test_priority_tags_and_internal_notes_are_recorded(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)
    handoff = await new_handoff(db, "c1")

    async with db.session() as session, session.begin():
        ticket = await get_ticket(session, handoff.ticket.id)
        me = await load_user(session, ada)
        await set_priority(session, ticket, "high", me)
        await add_tag(session, ticket, " Refund ", me)
        await add_tag(session, ticket, "refund", me)
        await add_internal_note(session, ticket, me, "Customer is a reseller.")
        with pytest.raises(InvalidInput):
            await set_priority(session, ticket, "asap", me)

    ticket = await read_ticket(db, handoff.ticket.id)
    assert (ticket.priority, ticket.tags) == ("high", ["refund"])
    [changed] = await read_events(db, "ticket_priority_changed")
    assert changed.payload == {"from": "normal", "to": "high"}
    assert len(await read_events(db, "ticket_tagged")) == 1
    assert len(await read_events(db, "message_from_note")) == 1
    async with db.session() as session:
        public = await transcript(session, ticket.conversation_id)
        staff = await transcript(session, ticket.conversation_id, with_notes=True)
    assert [m.sender for m in public] == ["system"]  # the customer never sees the note
    assert [m.sender for m in staff] == ["system", "note"]


async def test_round_robin_ignores_load_and_takes_turns(db: Database) -> None:
    async with db.session() as session, session.begin():
        await sync_queues(session, [QueueSpec("billing", ("billing",), strategy="round_robin")])
    ada = await make_agent(db, "ada", online=True, capacity=5)
    bob = await make_agent(db, "bob", capacity=5)
    first = await new_handoff(db, "c1")
    second = await new_handoff(db, "c2")  # ada again: bob is offline
    await set_status(db, bob, "online")  # bob takes nothing: nobody waits
    async with db.session() as session, session.begin():
        long_ago = utcnow() - timedelta(days=1)
        await session.execute(update(User).where(User.id == bob).values(last_assigned_at=long_ago))

    third = await new_handoff(db, "c3")  # least busy would also say bob; the fourth tells
    fourth = await new_handoff(db, "c4")

    assert [await assignee_of(db, h.ticket.id) for h in (first, second, third, fourth)] == [
        ada,
        ada,
        bob,
        ada,
    ]
    async with db.session() as session:
        queue = await session.get(Queue, (await read_ticket(db, first.ticket.id)).queue_id)
        assert queue is not None and queue.strategy == "round_robin"


async def test_resolved_tickets_close_after_some_days(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)
    handoff = await new_handoff(db, "c1")
    await resolve(db, handoff.ticket.id, ada)

    async with db.session() as session, session.begin():
        assert await close_resolved(session, utcnow(), after_days=3) == []
        later = utcnow() + timedelta(days=4)
        assert await close_resolved(session, later, after_days=3) == [handoff.ticket.id]

    ticket = await read_ticket(db, handoff.ticket.id)
    assert ticket.status == "closed" and ticket.closed_at is not None
    assert len(await read_events(db, "ticket_closed")) == 1
