"""Ticket actions: create (idempotent), hand off, take, reply, resolve."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions.assignment import (
    ACTIVE,
    agent_loads,
    assign_ticket,
    drain,
    end_assignment,
    lock_ticket,
    record_ticket,
    route_for_agent,
    route_waiting,
)
from actions.conversations import add_message, set_conversation_status
from actions.errors import Conflict, Forbidden, InvalidInput, NotFound
from actions.record import BOT, Actor, record
from actions.sla import clear_next_response, start_clocks
from routing import PRIORITIES, estimate_wait_minutes
from storage.models import Conversation, Message, Queue, Ticket, User, utcnow

__all__ = [
    "ACTIVE",
    "Handoff",
    "active_ticket",
    "agent_loads",
    "agent_reply",
    "assign_ticket",
    "create_ticket",
    "drain",
    "get_ticket",
    "handoff",
    "queue_by_name",
    "resolve_ticket",
    "route_for_agent",
    "route_waiting",
    "take_ticket",
]


@dataclass(frozen=True)
class Handoff:
    ticket: Ticket
    created: bool
    wait_minutes: int
    assigned: list[Ticket]


@dataclass(frozen=True)
class TicketFields:
    """What a new ticket carries besides its subject, category and queue."""

    priority: str = "normal"
    language: str | None = None
    tags: tuple[str, ...] = ()
    skills: Mapping[str, int] | None = None  # skill -> minimum level an agent needs


async def get_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


async def latest_ticket(session: AsyncSession, conversation_id: int) -> Ticket | None:
    """The conversation's newest ticket, whatever its status."""
    ticket: Ticket | None = await session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id)
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return ticket


async def active_ticket(session: AsyncSession, conversation_id: int) -> Ticket | None:
    ticket: Ticket | None = await session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.status.in_(ACTIVE))
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return ticket


async def create_ticket(
    session: AsyncSession,
    conversation: Conversation,
    queue_name: str,
    subject: str,
    *,
    category: str | None,
    idempotency_key: str | None = None,
    fields: TicketFields | None = None,
    now: datetime | None = None,
) -> tuple[Ticket, bool]:
    """The conversation's active ticket, or a new one; the same key always gives the same ticket."""
    if idempotency_key is not None:
        existing = await session.scalar(
            select(Ticket).where(Ticket.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return existing, False
    existing = await active_ticket(session, conversation.id)
    if existing is not None:
        return existing, False
    queue = await queue_by_name(session, queue_name)
    wanted = fields or TicketFields()
    if wanted.priority not in PRIORITIES:
        raise InvalidInput(f"priority must be one of {', '.join(PRIORITIES)}")
    key = idempotency_key or (
        f"conversation:{conversation.id}:{await _ticket_count(session, conversation.id)}"
    )
    ticket = Ticket(
        conversation_id=conversation.id,
        idempotency_key=key,
        subject=subject[:255] or "(no subject)",
        category=category,
        queue_id=queue.id,
        status="new",
        priority=wanted.priority,
        language=wanted.language,
        tags=sorted({t.strip().lower() for t in wanted.tags if t.strip()}),
        skills=dict(wanted.skills or {}),
        created_at=now or utcnow(),
    )
    start_clocks(ticket, queue, ticket.created_at)
    try:
        async with session.begin_nested():
            session.add(ticket)
            await session.flush()
    except IntegrityError:  # the same key was used concurrently: that ticket is the answer
        found = await session.scalar(select(Ticket).where(Ticket.idempotency_key == key))
        if found is None:
            raise
        return found, False
    await session.refresh(ticket, ["queue", "conversation", "assignee"])
    record(
        session,
        BOT,
        "create_ticket",
        ("ticket", ticket.id),
        event="ticket_created",
        conversation_id=conversation.id,
        ticket_id=ticket.id,
        queue=queue.name,
        payload={"category": category, "queue": queue.name, "priority": ticket.priority},
    )
    return ticket, True


async def handoff(
    session: AsyncSession,
    conversation: Conversation,
    queue_name: str,
    *,
    subject: str,
    category: str | None,
    minutes_per_ticket: float,
    fields: TicketFields | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Handoff:
    """Hand the conversation to a person: a ticket in the queue, routed if someone is free."""
    ticket, created = await create_ticket(
        session,
        conversation,
        queue_name,
        subject,
        category=category,
        idempotency_key=idempotency_key,
        fields=fields,
        now=now,
    )
    await set_conversation_status(session, conversation, "waiting", BOT)
    if created:
        record(
            session,
            BOT,
            "handoff",
            ("conversation", conversation.id),
            event="handoff",
            conversation_id=conversation.id,
            ticket_id=ticket.id,
            queue=queue_name,
            payload={"reason": category},
        )
    ahead = await _tickets_ahead(session, ticket)
    loads = await agent_loads(session, ticket.queue_id)
    assigned = await route_waiting(session, ticket.queue_id)
    wait_minutes = estimate_wait_minutes(ahead, loads, minutes_per_ticket)
    return Handoff(ticket, created, wait_minutes, assigned)


async def take_ticket(session: AsyncSession, ticket: Ticket, agent: User) -> None:
    """The agent takes the ticket from their queue (or from a colleague)."""
    if ticket.queue_id not in {q.id for q in agent.queues} and agent.role == "agent":
        raise Forbidden("this ticket is not in one of your queues")
    await lock_ticket(session, ticket)  # a routing worker may be assigning it at this moment
    await assign_ticket(session, ticket, agent, Actor("agent", agent.id))


async def agent_reply(session: AsyncSession, ticket: Ticket, agent: User, text: str) -> Message:
    """The assigned agent writes to the customer; the first reply stops the first-response clock."""
    if ticket.assignee_id != agent.id:
        raise Forbidden("take the ticket before replying")
    if ticket.status not in ACTIVE:
        raise Conflict(f"ticket {ticket.id} is {ticket.status}")
    conversation = await session.get(Conversation, ticket.conversation_id)
    assert conversation is not None  # foreign key
    message, _ = await add_message(session, conversation, "agent", text, sender_user_id=agent.id)
    clear_next_response(ticket)
    if ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
        seconds = (message.created_at - ticket.created_at).total_seconds()
        record_ticket(
            session,
            Actor("agent", agent.id),
            "first_response",
            "first_response",
            ticket,
            agent_id=agent.id,
            payload={"seconds": round(seconds, 3)},
        )
    return message


async def resolve_ticket(session: AsyncSession, ticket: Ticket, agent: User) -> list[Ticket]:
    """Resolve the ticket, ask the customer for a rating, and give the freed capacity away."""
    if ticket.assignee_id != agent.id and agent.role == "agent":
        raise Forbidden("only the assigned agent can resolve this ticket")
    if ticket.status not in ACTIVE:
        raise Conflict(f"ticket {ticket.id} is already {ticket.status}")
    now = utcnow()
    ticket.status, ticket.resolved_at = "resolved", now
    clear_next_response(ticket)
    await end_assignment(session, ticket, now)
    conversation = await session.get(Conversation, ticket.conversation_id)
    assert conversation is not None  # foreign key
    actor = Actor("agent", agent.id)
    await set_conversation_status(session, conversation, "awaiting_rating", actor)
    seconds = round((now - ticket.created_at).total_seconds(), 3)
    record_ticket(
        session,
        actor,
        "resolve_ticket",
        "ticket_resolved",
        ticket,
        agent_id=ticket.assignee_id,
        payload={"seconds": seconds},
    )
    return await free_capacity(session, ticket.assignee, [ticket.queue_id])


async def free_capacity(
    session: AsyncSession, agent: User | None, queue_ids: Iterable[int] = ()
) -> list[Ticket]:
    """Someone has room again: drain the agent's queues (and `queue_ids`)."""
    queues = {*queue_ids, *(q.id for q in agent.queues)} if agent else set(queue_ids)
    return await drain(session, sorted(queues)) if queues else []


async def queue_by_name(session: AsyncSession, name: str) -> Queue:
    queue = await session.scalar(select(Queue).where(Queue.name == name))
    if queue is None:
        raise InvalidInput(f"queue {name!r} does not exist")
    return queue


async def _ticket_count(session: AsyncSession, conversation_id: int) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.conversation_id == conversation_id)
    )
    return int(count or 0)


async def _tickets_ahead(session: AsyncSession, ticket: Ticket) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.queue_id == ticket.queue_id,
            Ticket.status == "new",
            Ticket.assignee_id.is_(None),
            Ticket.id < ticket.id,
        )
    )
    return int(count or 0)
