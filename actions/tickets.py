"""Ticket actions: create (idempotent), assign and route, reply, resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import add_message, set_conversation_status
from actions.errors import Conflict, Forbidden, InvalidInput, NotFound
from actions.record import BOT, SYSTEM, Actor, record
from routing import AgentLoad, estimate_wait_minutes, pick_agent
from storage.models import (
    AgentQueue,
    Assignment,
    Conversation,
    Message,
    Queue,
    Ticket,
    User,
    utcnow,
)

ACTIVE = ("new", "open")


@dataclass(frozen=True)
class Handoff:
    ticket: Ticket
    created: bool
    wait_minutes: int
    assigned: list[Ticket]


async def get_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
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
    )
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
        payload={"category": category, "queue": queue.name},
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
) -> Handoff:
    """Hand the conversation to a person: a ticket in the queue, routed if someone is free."""
    ticket, created = await create_ticket(
        session, conversation, queue_name, subject, category=category
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


async def route_waiting(session: AsyncSession, queue_id: int) -> list[Ticket]:
    """Assign the queue's unassigned tickets, oldest first, while an agent has room."""
    waiting = await session.scalars(
        select(Ticket)
        .where(Ticket.queue_id == queue_id, Ticket.status == "new", Ticket.assignee_id.is_(None))
        .order_by(Ticket.created_at, Ticket.id)
    )
    assigned = []
    for ticket in waiting:
        agent_id = pick_agent(await agent_loads(session, queue_id))
        if agent_id is None:
            break
        agent = await session.get(User, agent_id)
        assert agent is not None  # it came from the loads just read
        await assign_ticket(session, ticket, agent, SYSTEM)
        assigned.append(ticket)
    return assigned


async def route_for_agent(session: AsyncSession, agent: User) -> list[Ticket]:
    """After an agent comes online or frees capacity: drain the queues they work in."""
    assigned = []
    for queue in agent.queues:
        assigned += await route_waiting(session, queue.id)
    return assigned


async def agent_loads(session: AsyncSession, queue_id: int) -> list[AgentLoad]:
    members = await session.scalars(
        select(User)
        .join(AgentQueue, AgentQueue.user_id == User.id)
        .where(AgentQueue.queue_id == queue_id)
    )
    loads = []
    for user in members:
        open_count = await session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.assignee_id == user.id, Ticket.status.in_(ACTIVE))
        )
        last = await session.scalar(
            select(func.max(Assignment.assigned_at)).where(Assignment.agent_id == user.id)
        )
        loads.append(
            AgentLoad(user.id, user.status == "online", user.capacity, int(open_count or 0), last)
        )
    return loads


async def assign_ticket(session: AsyncSession, ticket: Ticket, agent: User, actor: Actor) -> None:
    if ticket.status not in ACTIVE:
        raise Conflict(f"ticket {ticket.id} is {ticket.status} and cannot be assigned")
    if ticket.assignee_id == agent.id:
        return
    now = utcnow()
    await _end_assignment(session, ticket, now)
    ticket.assignee_id = agent.id
    ticket.assignee = agent
    if ticket.status == "new":
        ticket.status = "open"
    session.add(Assignment(ticket_id=ticket.id, agent_id=agent.id, assigned_at=now))
    conversation = await session.get(Conversation, ticket.conversation_id)
    assert conversation is not None  # foreign key
    await set_conversation_status(session, conversation, "with_agent", actor)
    joined = f"{agent.display_name} joined the conversation."
    await add_message(session, conversation, "system", joined)
    _record_ticket(
        session,
        actor,
        "assign_ticket",
        "ticket_assigned",
        ticket,
        agent_id=agent.id,
        payload={"agent_id": agent.id},
    )


async def take_ticket(session: AsyncSession, ticket: Ticket, agent: User) -> None:
    """The agent takes the ticket from their queue (or from a colleague)."""
    if ticket.queue_id not in {q.id for q in agent.queues} and agent.role == "agent":
        raise Forbidden("this ticket is not in one of your queues")
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
    if ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
        seconds = (message.created_at - ticket.created_at).total_seconds()
        _record_ticket(
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
    await _end_assignment(session, ticket, now)
    conversation = await session.get(Conversation, ticket.conversation_id)
    assert conversation is not None  # foreign key
    actor = Actor("agent", agent.id)
    await set_conversation_status(session, conversation, "awaiting_rating", actor)
    seconds = round((now - ticket.created_at).total_seconds(), 3)
    _record_ticket(
        session,
        actor,
        "resolve_ticket",
        "ticket_resolved",
        ticket,
        agent_id=ticket.assignee_id,
        payload={"seconds": seconds},
    )
    return await route_waiting(session, ticket.queue_id)


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


async def _end_assignment(session: AsyncSession, ticket: Ticket, when: datetime) -> None:
    current = await session.scalar(
        select(Assignment).where(Assignment.ticket_id == ticket.id, Assignment.ended_at.is_(None))
    )
    if current is not None:
        current.ended_at = when


def _record_ticket(
    session: AsyncSession,
    actor: Actor,
    action: str,
    event: str,
    ticket: Ticket,
    *,
    agent_id: int | None,
    payload: dict[str, object],
) -> None:
    """The audit row and event of an action on a ticket, with the ticket's queue and agent."""
    record(
        session,
        actor,
        action,
        ("ticket", ticket.id),
        event=event,
        conversation_id=ticket.conversation_id,
        ticket_id=ticket.id,
        agent_id=agent_id,
        queue=ticket.queue.name,
        payload=payload,
    )
