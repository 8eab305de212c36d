"""SLA clocks on tickets: set when a ticket starts or changes, checked periodically to escalate
tickets about to breach (priority up, a note for the console) and to record breaches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.assignment import ACTIVE, record_ticket
from actions.conversations import INTERNAL_NOTE, add_message, get_conversation
from actions.record import SYSTEM
from routing import SlaPolicy, raised
from routing.sla import CLOCKS, business_minutes_between
from storage.models import Queue, Ticket

HORIZON = timedelta(days=7)  # a clock due later than this cannot be inside an escalation window
LOAD_AT_ONCE = 500  # tickets with something to do, loaded (and locked) in one statement


@dataclass
class SlaCheck:
    """What one check did: (ticket id, clock) pairs escalated and breached."""

    escalated: list[tuple[int, str]] = field(default_factory=list)
    breached: list[tuple[int, str]] = field(default_factory=list)


def policy_of(queue: Queue) -> SlaPolicy:
    return SlaPolicy.from_json(queue.sla)


def start_clocks(ticket: Ticket, queue: Queue, start: datetime) -> None:
    """Set the first-response and resolution due times from `start` by the queue's policy."""
    policy = policy_of(queue)
    if ticket.first_response_at is None:
        ticket.first_response_due_at = policy.due("first_response", ticket.priority, start)
    ticket.resolution_due_at = policy.due("resolution", ticket.priority, start)


def start_next_response(ticket: Ticket, queue: Queue, start: datetime) -> None:
    """The customer wrote after the first answer: the next-response clock runs, unless it does."""
    if ticket.first_response_at is not None and ticket.next_response_due_at is None:
        ticket.next_response_due_at = policy_of(queue).due("next_response", ticket.priority, start)


def clear_next_response(ticket: Ticket) -> None:
    """An agent answered: the next-response clock stops and may escalate again next time."""
    ticket.next_response_due_at = None
    marks = {k: v for k, v in (ticket.sla_marks or {}).items() if not k.endswith(":next_response")}
    if marks != (ticket.sla_marks or {}):
        ticket.sla_marks = marks


async def check_sla(session: AsyncSession, now: datetime) -> SlaCheck:
    """Escalate active tickets whose clocks are inside the queue's escalation window and record
    each breach once. Several workers may run it at once: a ticket one holds is skipped.
    The active tickets are read as the few columns their clocks need, and only those with
    something to do are loaded (and locked) whole: loading every one with its queue, assignee
    and conversation held the event loop 37 ms a check with 600 tickets waiting."""
    due_soon = now + HORIZON
    policies = {
        queue_id: SlaPolicy.from_json(sla)
        for queue_id, sla in await session.execute(select(Queue.id, Queue.sla))
    }
    clocks = await session.execute(
        select(
            Ticket.id,
            Ticket.queue_id,
            Ticket.first_response_at,
            Ticket.sla_marks,
            *(getattr(Ticket, f"{clock}_due_at") for clock in CLOCKS),
        ).where(
            Ticket.status.in_(ACTIVE),
            or_(
                Ticket.first_response_due_at <= due_soon,
                Ticket.next_response_due_at <= due_soon,
                Ticket.resolution_due_at <= due_soon,
            ),
        )
    )
    due = sorted(
        row.id
        for row in clocks
        if any(any(_to_do(clock, row, policies[row.queue_id], now)) for clock in CLOCKS)
    )
    result = SlaCheck()
    for start in range(0, len(due), LOAD_AT_ONCE):
        tickets = await session.scalars(
            select(Ticket)
            .where(Ticket.id.in_(due[start : start + LOAD_AT_ONCE]), Ticket.status.in_(ACTIVE))
            .order_by(Ticket.id)
            .with_for_update(of=Ticket, skip_locked=True)
        )
        for ticket in list(tickets):
            for clock in CLOCKS:
                policy = policies[ticket.queue_id]
                await _check_clock(session, ticket, clock, policy, now, result)
    return result


class _Clocks(Protocol):
    """A ticket's clocks: the ticket, or a row of its columns."""

    @property
    def first_response_at(self) -> datetime | None: ...
    @property
    def sla_marks(self) -> dict[str, str] | None: ...


def _to_do(clock: str, ticket: _Clocks, policy: SlaPolicy, now: datetime) -> tuple[bool, bool]:
    """Whether the ticket's `clock` is to be escalated, and whether its breach is to be recorded."""
    due: datetime | None = getattr(ticket, f"{clock}_due_at")
    if due is None or (clock == "first_response" and ticket.first_response_at is not None):
        return False, False
    marks = ticket.sla_marks or {}
    escalate = f"escalated:{clock}" not in marks and (
        now >= due
        or business_minutes_between(now, due, policy.business_hours)
        <= policy.escalate_before_minutes
    )
    return escalate, now >= due and f"breached:{clock}" not in marks


async def _check_clock(  # noqa: PLR0917 (the check's state, as check_sla has it)
    session: AsyncSession,
    ticket: Ticket,
    clock: str,
    policy: SlaPolicy,
    now: datetime,
    result: SlaCheck,
) -> None:
    escalate, breach = _to_do(clock, ticket, policy, now)
    due: datetime = getattr(ticket, f"{clock}_due_at")
    if escalate:
        await _escalate(session, ticket, clock, due, now)
        result.escalated.append((ticket.id, clock))
    if breach:
        _mark(ticket, f"breached:{clock}", now)
        late = round((now - due).total_seconds() / 60, 1)
        payload: dict[str, object] = {"clock": clock, "due_at": due.isoformat(), "late": late}
        record_ticket(
            session,
            SYSTEM,
            "sla_breached",
            "sla_breached",
            ticket,
            agent_id=ticket.assignee_id,
            payload=payload,
        )
        result.breached.append((ticket.id, clock))


async def _escalate(
    session: AsyncSession, ticket: Ticket, clock: str, due: datetime, now: datetime
) -> None:
    previous = ticket.priority
    ticket.priority = raised(previous)
    _mark(ticket, f"escalated:{clock}", now)
    record_ticket(
        session,
        SYSTEM,
        "sla_escalated",
        "sla_escalated",
        ticket,
        agent_id=ticket.assignee_id,
        payload={
            "clock": clock,
            "due_at": due.isoformat(),
            "from": previous,
            "to": ticket.priority,
        },
    )
    conversation = await get_conversation(session, ticket.conversation_id)
    text = (
        f"SLA: {clock.replace('_', ' ')} due {due.isoformat(timespec='minutes')}; "
        f"priority raised from {previous} to {ticket.priority}."
    )
    await add_message(session, conversation, INTERNAL_NOTE, text)


def _mark(ticket: Ticket, key: str, when: datetime) -> None:
    ticket.sla_marks = {**(ticket.sla_marks or {}), key: when.isoformat()}
