"""handoff and the routing of waiting tickets to online agents with room, read back from the DB."""

from __future__ import annotations

import pytest

from actions.errors import InvalidInput
from actions.users import set_agent_status
from storage.database import Database
from storage.models import Assignment
from tests.actions.support import (
    count_rows,
    go_online,
    hand_off,
    load_user,
    make_agent,
    new_handoff,
    read_conversation,
    read_events,
    read_messages,
    read_ticket,
    resolve,
    start_conversation,
)


async def _assignee(db: Database, ticket_id: int) -> int | None:
    return (await read_ticket(db, ticket_id)).assignee_id


async def test_with_nobody_online_the_ticket_waits(db: Database) -> None:
    await make_agent(db, "ada")  # in the queue, but offline

    handoff = await new_handoff(db, "ana")

    assert handoff.created is True
    assert handoff.assigned == []
    assert handoff.wait_minutes >= 1
    ticket = await read_ticket(db, handoff.ticket.id)
    assert (ticket.status, ticket.assignee_id, ticket.queue.name) == ("new", None, "billing")
    assert (await read_conversation(db, ticket.conversation_id)).status == "waiting"
    assert await count_rows(db, Assignment) == 0
    [event] = await read_events(db, "handoff")
    assert (event.ticket_id, event.queue) == (ticket.id, "billing")


async def test_the_wait_grows_with_the_tickets_ahead(db: Database) -> None:
    first = await new_handoff(db, "ana")
    second = await new_handoff(db, "bob")

    assert second.wait_minutes > first.wait_minutes >= 1


async def test_a_second_handoff_of_the_same_conversation_reuses_its_ticket(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    first = await hand_off(db, conversation_id)

    again = await hand_off(db, conversation_id)

    assert (again.ticket.id, again.created) == (first.ticket.id, False)
    assert len(await read_events(db, "handoff")) == 1
    assert len(await read_events(db, "ticket_created")) == 1


async def test_an_online_agent_gets_the_ticket_and_joins_the_conversation(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)

    handoff = await new_handoff(db, "ana")

    assert [t.id for t in handoff.assigned] == [handoff.ticket.id]
    ticket = await read_ticket(db, handoff.ticket.id)
    assert (ticket.status, ticket.assignee_id) == ("open", ada)
    assert (await read_conversation(db, ticket.conversation_id)).status == "with_agent"
    [joined] = await read_messages(db, ticket.conversation_id)
    assert (joined.sender, joined.text) == ("system", "Ada joined the conversation.")
    [assigned] = await read_events(db, "ticket_assigned")
    assert (assigned.ticket_id, assigned.agent_id, assigned.queue) == (ticket.id, ada, "billing")


async def test_the_agent_with_fewer_open_tickets_gets_the_next_one(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)
    earlier = [(await new_handoff(db, f"c{n}")).ticket.id for n in range(2)]  # ada: 2 open
    bob = await make_agent(db, "bob", online=True)
    third = await new_handoff(db, "c3")  # bob: 1 open, and now the most recently assigned

    fourth = await new_handoff(db, "c4")

    assert [await _assignee(db, t) for t in earlier] == [ada, ada]
    assert await _assignee(db, third.ticket.id) == bob
    assert await _assignee(db, fourth.ticket.id) == bob


async def test_an_agent_at_capacity_gets_nothing_more(db: Database) -> None:
    ada = await make_agent(db, "ada", capacity=1, online=True)
    first = await new_handoff(db, "c1")

    second = await new_handoff(db, "c2")

    assert await _assignee(db, first.ticket.id) == ada
    assert second.assigned == []
    ticket = await read_ticket(db, second.ticket.id)
    assert (ticket.status, ticket.assignee_id) == ("new", None)
    assert (await read_conversation(db, ticket.conversation_id)).status == "waiting"


async def test_an_agent_of_another_queue_gets_nothing(db: Database) -> None:
    await make_agent(db, "gus", ["general"], online=True)

    handoff = await new_handoff(db, "ana", queue="billing")

    ticket = await read_ticket(db, handoff.ticket.id)
    assert (ticket.status, ticket.assignee_id) == ("new", None)


async def test_coming_online_takes_waiting_tickets_oldest_first_up_to_capacity(
    db: Database,
) -> None:
    ada = await make_agent(db, "ada", capacity=2)
    tickets = [(await new_handoff(db, f"c{n}")).ticket.id for n in range(3)]
    await new_handoff(db, "other", queue="general")  # not ada's queue

    received = await go_online(db, ada)

    assert received == tickets[:2]
    assert [await _assignee(db, t) for t in tickets] == [ada, ada, None]
    assert (await read_ticket(db, tickets[2])).status == "new"


async def test_an_agent_who_went_offline_receives_nothing(db: Database) -> None:
    ada = await make_agent(db, "ada", online=True)
    async with db.session() as session, session.begin():
        await set_agent_status(session, await load_user(session, ada), "offline")

    handoff = await new_handoff(db, "ana")

    assert await _assignee(db, handoff.ticket.id) is None
    events = await read_events(db, "agent_status")
    assert [(e.agent_id, e.payload) for e in events] == [
        (ada, {"from": "offline", "to": "online"}),
        (ada, {"from": "online", "to": "offline"}),
    ]


async def test_an_unknown_agent_status_is_invalid(db: Database) -> None:
    ada = await make_agent(db, "ada")

    with pytest.raises(InvalidInput):
        async with db.session() as session, session.begin():
            await set_agent_status(session, await load_user(session, ada), "busy")

    assert await read_events(db, "agent_status") == []


async def test_resolving_frees_capacity_for_the_next_waiting_ticket(db: Database) -> None:
    ada = await make_agent(db, "ada", capacity=1, online=True)
    first = await new_handoff(db, "c1")
    second = await new_handoff(db, "c2")
    third = await new_handoff(db, "c3")
    assert await _assignee(db, second.ticket.id) is None

    received = await resolve(db, first.ticket.id, ada)

    assert received == [second.ticket.id]
    assert await _assignee(db, second.ticket.id) == ada
    assert await _assignee(db, third.ticket.id) is None
    conversation = await read_conversation(db, second.ticket.conversation_id)
    assert conversation.status == "with_agent"
    assert [m.text for m in await read_messages(db, conversation.id)] == [
        "Ada joined the conversation."
    ]
