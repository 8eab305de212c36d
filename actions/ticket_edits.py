"""What agents change on a ticket: transfer, priority, tags, internal notes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.assignment import (
    ACTIVE,
    assign_ticket,
    drain,
    lock_ticket,
    record_ticket,
    unassign_ticket,
)
from actions.conversations import INTERNAL_NOTE, add_message, get_conversation
from actions.errors import Conflict, Forbidden, InvalidInput
from actions.record import Actor
from actions.sla import start_clocks
from routing import PRIORITIES
from storage.models import AgentQueue, Message, Queue, Ticket, User

MAX_TAG = 32


def _actor(user: User) -> Actor:
    return Actor("agent", user.id)


def _may_edit(user: User, ticket: Ticket) -> None:
    """Agents edit tickets of their queues or assigned to them; supervisors and admins any."""
    mine = ticket.assignee_id == user.id or ticket.queue_id in {q.id for q in user.queues}
    if user.role == "agent" and not mine:
        raise Forbidden("this ticket is not in one of your queues")


async def transfer_ticket(
    session: AsyncSession,
    ticket: Ticket,
    by: User,
    *,
    to_agent: User | None = None,
    to_queue: str | None = None,
    note: str | None = None,
) -> list[Ticket]:
    """Move the ticket to another queue (it waits there and is routed) and/or give it to another
    agent, with an internal note saying why. Returns the tickets assigned as a result."""
    _may_edit(by, ticket)
    if to_agent is None and to_queue is None:
        raise InvalidInput("a transfer needs an agent or a queue")
    await lock_ticket(session, ticket)
    if ticket.status not in ACTIVE:
        raise Conflict(f"ticket {ticket.id} is {ticket.status} and cannot be transferred")
    previous_agent, previous_queue = ticket.assignee, ticket.queue
    queue = previous_queue if to_queue is None else await _queue(session, to_queue)
    if to_agent is not None and not await _works_in(session, to_agent, queue):
        raise InvalidInput(f"{to_agent.username} does not work in the {queue.name} queue")
    if note:
        await add_internal_note(session, ticket, by, note)
    if queue.id != ticket.queue_id:
        ticket.queue_id, ticket.queue = queue.id, queue
        start_clocks(ticket, queue, ticket.created_at)
    payload: dict[str, object] = {
        "from_queue": previous_queue.name,
        "to_queue": queue.name,
        "from_agent": previous_agent.id if previous_agent else None,
        "to_agent": to_agent.id if to_agent else None,
        "note": note,
    }
    assigned: list[Ticket] = []
    if to_agent is not None:
        await assign_ticket(session, ticket, to_agent, _actor(by))
    elif ticket.assignee_id is not None:
        await unassign_ticket(session, ticket, _actor(by), event="ticket_unassigned", payload={})
    record_ticket(
        session,
        _actor(by),
        "transfer_ticket",
        "ticket_transferred",
        ticket,
        agent_id=ticket.assignee_id,
        payload=payload,
    )
    freed = {queue.id, *(q.id for q in previous_agent.queues)} if previous_agent else {queue.id}
    assigned += await drain(session, sorted(freed))
    return assigned


async def set_priority(session: AsyncSession, ticket: Ticket, priority: str, by: User) -> None:
    """Change the priority; the SLA clocks that still run are set again for the new priority."""
    _may_edit(by, ticket)
    if priority not in PRIORITIES:
        raise InvalidInput(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
    if ticket.priority == priority:
        return
    previous, ticket.priority = ticket.priority, priority
    if ticket.status in ACTIVE:
        start_clocks(ticket, ticket.queue, ticket.created_at)
    record_ticket(
        session,
        _actor(by),
        "set_priority",
        "ticket_priority_changed",
        ticket,
        agent_id=ticket.assignee_id,
        payload={"from": previous, "to": priority},
    )


async def add_tag(session: AsyncSession, ticket: Ticket, tag: str, by: User) -> None:
    """Tag the ticket (lower case, once)."""
    _may_edit(by, ticket)
    clean = tag.strip().lower()
    if not clean or len(clean) > MAX_TAG:
        raise InvalidInput(f"a tag has 1 to {MAX_TAG} characters, got {tag!r}")
    if clean in (ticket.tags or []):
        return
    ticket.tags = sorted({*(ticket.tags or []), clean})
    record_ticket(
        session,
        _actor(by),
        "add_tag",
        "ticket_tagged",
        ticket,
        agent_id=ticket.assignee_id,
        payload={"tag": clean},
    )


async def add_internal_note(session: AsyncSession, ticket: Ticket, by: User, text: str) -> Message:
    """A note for the staff in the conversation; its sender is "note", never shown to customers."""
    _may_edit(by, ticket)
    if not text.strip():
        raise InvalidInput("the note is empty")
    conversation = await get_conversation(session, ticket.conversation_id)
    message, _ = await add_message(
        session, conversation, INTERNAL_NOTE, text.strip(), sender_user_id=by.id
    )
    return message


async def _queue(session: AsyncSession, name: str) -> Queue:
    queue = await session.scalar(select(Queue).where(Queue.name == name))
    if queue is None:
        raise InvalidInput(f"queue {name!r} does not exist")
    return queue


async def _works_in(session: AsyncSession, user: User, queue: Queue) -> bool:
    member = await session.scalar(
        select(AgentQueue.user_id).where(
            AgentQueue.user_id == user.id, AgentQueue.queue_id == queue.id
        )
    )
    return member is not None
