"""SLA clocks on tickets: due times from the queue's policy in business hours, escalation
before a breach, and each breach recorded once."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

import actions.sla
from actions.sla import check_sla
from actions.tickets import TicketFields
from actions.users import QueueSpec, sync_queues
from routing import BusinessHours, SlaPolicy, SlaTargets
from storage.database import Database
from tests.actions.support import (
    make_agent,
    new_handoff,
    read_events,
    read_messages,
    read_ticket,
    reply,
)

OFFICE = BusinessHours("Europe/Berlin", time(9), time(17), frozenset(range(5)))
POLICY = SlaPolicy(
    {"normal": SlaTargets(first_response=60, resolution=480), "urgent": SlaTargets(15)},
    OFFICE,
    escalate_before_minutes=15,
)


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """Wall-clock time in Berlin (UTC+1 in November 2026; the 27th is a Friday) as UTC."""
    return datetime(2026, 11, day, hour - 1, minute, tzinfo=UTC)


async def _with_policy(db: Database) -> None:
    async with db.session() as session, session.begin():
        await sync_queues(session, [QueueSpec("billing", ("billing",), sla=POLICY.to_json())])


async def _check(db: Database, now: datetime) -> tuple[list[tuple[int, str]], ...]:
    async with db.session() as session, session.begin():
        result = await check_sla(session, now)
    return result.escalated, result.breached


async def test_a_ticket_escalates_before_and_breaches_after_its_business_hours_due_time(
    db: Database,
) -> None:
    await _with_policy(db)
    await make_agent(db, "ada", online=True)
    handoff = await new_handoff(db, "c1", now=berlin(27, 16, 30))  # Friday, 30 minutes to close
    ticket_id = handoff.ticket.id

    ticket = await read_ticket(db, ticket_id)
    assert ticket.first_response_due_at == berlin(30, 9, 30)
    assert ticket.resolution_due_at == berlin(30, 16, 30)

    assert await _check(db, berlin(27, 17, 30)) == ([], [])  # an hour later, but after hours
    assert await _check(db, berlin(30, 9, 20)) == ([(ticket_id, "first_response")], [])
    ticket = await read_ticket(db, ticket_id)
    assert ticket.priority == "high"
    [escalated] = await read_events(db, "sla_escalated")
    assert escalated.payload["from"] == "normal" and escalated.payload["to"] == "high"
    notes = [m for m in await read_messages(db, ticket.conversation_id) if m.sender == "note"]
    assert len(notes) == 1 and "first response" in notes[0].text

    assert await _check(db, berlin(30, 9, 31)) == ([], [(ticket_id, "first_response")])
    assert await _check(db, berlin(30, 9, 45)) == ([], [])  # each breach is recorded once
    [breach] = await read_events(db, "sla_breached")
    assert (breach.ticket_id, breach.payload["clock"], breach.payload["late"]) == (
        ticket_id,
        "first_response",
        1.0,
    )


async def test_an_answered_ticket_does_not_breach_its_first_response(db: Database) -> None:
    await _with_policy(db)
    ada = await make_agent(db, "ada", online=True)
    handoff = await new_handoff(
        db, "c1", fields=TicketFields(priority="urgent"), now=berlin(30, 10)
    )
    await reply(db, handoff.ticket.id, ada)

    escalated, breached = await _check(db, berlin(30, 12))

    assert (escalated, breached) == ([], [])
    assert await read_events(db, "sla_breached") == []


async def test_a_queue_without_a_policy_has_no_clocks(db: Database) -> None:
    handoff = await new_handoff(db, "c1")

    ticket = await read_ticket(db, handoff.ticket.id)
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (None, None)
    assert await _check(db, berlin(30, 12)) == ([], [])


async def test_only_tickets_with_something_to_do_are_loaded_and_all_of_them(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clocks are read as columns first; the tickets to act on are then loaded a few at a
    time (one here), and each of them is escalated, while one not yet due is left alone."""
    monkeypatch.setattr(actions.sla, "LOAD_AT_ONCE", 1)
    await _with_policy(db)
    await make_agent(db, "ada", online=True)
    early = [(await new_handoff(db, f"c{n}", now=berlin(30, 9))).ticket.id for n in range(3)]
    later = (await new_handoff(db, "c9", now=berlin(30, 11))).ticket.id

    escalated, breached = await _check(db, berlin(30, 9, 50))
    assert escalated == [(ticket_id, "first_response") for ticket_id in early]
    assert breached == []
    assert (await read_ticket(db, later)).priority == "normal"
    assert [(await read_ticket(db, t)).priority for t in early] == ["high"] * 3
