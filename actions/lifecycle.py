"""A ticket after its first assignment: the customer writes again, pending, reopen, close."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.assignment import (
    ACTIVE,
    assign_ticket,
    drain,
    lock_agent_with_room,
    record_ticket,
)
from actions.conversations import get_conversation, set_conversation_status
from actions.errors import Conflict, Forbidden
from actions.record import SYSTEM, Actor
from actions.sla import start_clocks, start_next_response
from actions.tickets import latest_ticket
from routing import AgentLoad, TicketNeeds, can_serve
from storage.models import Conversation, Ticket, User, utcnow


async def customer_wrote(
    session: AsyncSession,
    conversation: Conversation,
    *,
    reopen_within_days: float,
    now: datetime | None = None,
) -> Ticket | None:
    """The customer wrote while a person has (or had) the conversation. An active ticket goes
    back to open with its next-response clock running; a ticket resolved less than
    `reopen_within_days` ago is reopened. Returns the ticket the message belongs to, if any."""
    when = now or utcnow()
    ticket = await latest_ticket(session, conversation.id)
    if ticket is None:
        return None
    if ticket.status in ACTIVE:
        if ticket.status == "pending":
            await _set_status(session, ticket, "open", Actor("customer", conversation.customer_id))
        start_next_response(ticket, ticket.queue, when)
        return ticket
    recent = ticket.resolved_at is not None and when - ticket.resolved_at <= timedelta(
        days=reopen_within_days
    )
    if ticket.status == "resolved" and recent:
        await reopen_ticket(session, ticket, Actor("customer", conversation.customer_id), now=when)
        return ticket
    return None


async def reopen_ticket(
    session: AsyncSession, ticket: Ticket, actor: Actor, *, now: datetime | None = None
) -> list[Ticket]:
    """A resolved ticket is active again: back to its agent if they are online with room,
    otherwise to its queue's waiting line and routed. Returns the tickets assigned now."""
    if ticket.status != "resolved":
        raise Conflict(f"ticket {ticket.id} is {ticket.status}; only resolved tickets reopen")
    when = now or utcnow()
    previous = ticket.assignee
    ticket.status, ticket.resolved_at = "new", None
    ticket.assignee_id, ticket.assignee = None, None
    ticket.sla_marks = {k: v for k, v in (ticket.sla_marks or {}).items() if "resolution" not in k}
    start_clocks(ticket, ticket.queue, when)
    conversation = await get_conversation(session, ticket.conversation_id)
    await set_conversation_status(session, conversation, "waiting", actor)
    record_ticket(
        session,
        actor,
        "reopen_ticket",
        "ticket_reopened",
        ticket,
        agent_id=previous.id if previous else None,
        payload={"previous_agent": previous.id if previous else None},
    )
    if previous is not None and await _can_take_back(session, previous, ticket):
        await assign_ticket(session, ticket, previous, SYSTEM)
        return [ticket]
    return await drain(session, [ticket.queue_id])


async def _can_take_back(session: AsyncSession, agent: User, ticket: Ticket) -> bool:
    load = AgentLoad(
        agent.id, True, agent.capacity, 0, None, agent.skills, frozenset(agent.languages)
    )
    if not can_serve(load, TicketNeeds(ticket.language, ticket.skills or {})):
        return False
    return isinstance(await lock_agent_with_room(session, [agent.id]), User)


async def set_pending(session: AsyncSession, ticket: Ticket, by: User) -> None:
    """The agent waits for the customer; the customer's next message sets the ticket open."""
    if ticket.assignee_id != by.id and by.role == "agent":
        raise Forbidden("only the assigned agent can set this ticket pending")
    if ticket.status != "open":
        raise Conflict(f"ticket {ticket.id} is {ticket.status}; only open tickets wait")
    await _set_status(session, ticket, "pending", Actor("agent", by.id))


async def close_ticket(
    session: AsyncSession, ticket: Ticket, actor: Actor, *, now: datetime | None = None
) -> None:
    """Close a resolved ticket for good: a later message starts a new ticket."""
    if ticket.status != "resolved":
        raise Conflict(f"ticket {ticket.id} is {ticket.status}; only resolved tickets close")
    ticket.status, ticket.closed_at = "closed", now or utcnow()
    record_ticket(
        session,
        actor,
        "close_ticket",
        "ticket_closed",
        ticket,
        agent_id=ticket.assignee_id,
        payload={},
    )


async def close_resolved(session: AsyncSession, now: datetime, after_days: float) -> list[int]:
    """Close the tickets resolved more than `after_days` ago; returns their ids."""
    stale = await session.scalars(
        select(Ticket)
        .where(Ticket.status == "resolved", Ticket.resolved_at <= now - timedelta(days=after_days))
        .order_by(Ticket.id)
        .with_for_update(of=Ticket, skip_locked=True)
    )
    closed = []
    for ticket in list(stale):
        await close_ticket(session, ticket, SYSTEM, now=now)
        closed.append(ticket.id)
    return closed


async def _set_status(session: AsyncSession, ticket: Ticket, status: str, actor: Actor) -> None:
    previous, ticket.status = ticket.status, status
    record_ticket(
        session,
        actor,
        "set_ticket_status",
        "ticket_status",
        ticket,
        agent_id=ticket.assignee_id,
        payload={"from": previous, "to": status},
    )
