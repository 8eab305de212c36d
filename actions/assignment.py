"""Claiming waiting tickets for agents, safely when several workers assign at once.

On PostgreSQL a claim locks the ticket with `FOR UPDATE SKIP LOCKED` (another worker's ticket is
skipped, never waited for) and then the agent's row, and counts the agent's open tickets again
under that lock: two workers can neither assign one ticket twice nor fill one agent past capacity.
The agent lock is taken inside a savepoint and given back at once when the agent turns out to be
full, so a worker waits for at most one agent while holding no other agent: no deadlock. On SQLite
the database lets one writer in at a time, which gives the same guarantee.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import add_message, set_conversation_status
from actions.errors import Conflict
from actions.record import SYSTEM, Actor, record
from routing import AgentLoad, TicketNeeds, rank_agents
from storage.models import AgentQueue, Assignment, Conversation, Queue, Ticket, User, utcnow

ACTIVE = ("new", "open", "pending")
LOAD = ("open", "pending")  # assigned and not yet resolved: what counts against capacity
WINDOW = 50  # waiting tickets looked at per read, in priority then age order
MAX_ATTEMPTS = 20  # re-reads of the agents when the ones that looked free filled up meanwhile
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}  # the waiting line's order
line_rank = case(PRIORITY_RANK, value=Ticket.priority, else_=2)


@dataclass
class Pool:
    """The online agents, their loads, and who works in which queue, as read at one moment."""

    loads: dict[int, AgentLoad] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)  # queue id -> agent ids
    strategies: dict[int, str] = field(default_factory=dict)

    def queues_with_room(self) -> list[int]:
        return [
            q for q, agents in self.members.items() if any(self.loads[a].has_room for a in agents)
        ]

    def took(self, agent_id: int, when: datetime | None) -> None:
        """The agent was just given a ticket."""
        load = self.loads[agent_id]
        self.loads[agent_id] = replace(
            load, open_tickets=load.open_tickets + 1, last_assigned_at=when
        )

    def ranked(self, queue_id: int, needs: TicketNeeds) -> list[int]:
        agents = [self.loads[a] for a in self.members.get(queue_id, [])]
        return rank_agents(agents, needs, self.strategies.get(queue_id, "least_busy"))


async def open_tickets(session: AsyncSession, agent_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.assignee_id == agent_id, Ticket.status.in_(LOAD))
    )
    return int(count or 0)


async def read_pool(
    session: AsyncSession, queue_ids: Collection[int] | None = None, *, online_only: bool = True
) -> Pool:
    """Agents (online ones by default) of `queue_ids` (every queue when None) with their loads."""
    open_count = (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.assignee_id == User.id, Ticket.status.in_(LOAD))
        .scalar_subquery()
    )
    members = select(AgentQueue.queue_id, AgentQueue.user_id)
    if queue_ids is not None:
        members = members.where(AgentQueue.queue_id.in_(queue_ids))
    pool = Pool()
    for queue_id, user_id in await session.execute(members):
        pool.members.setdefault(queue_id, []).append(user_id)
    agents = select(
        User.id,
        User.status,
        User.capacity,
        User.last_assigned_at,
        User.skills,
        User.languages,
        open_count,
    ).where(User.id.in_({a for ids in pool.members.values() for a in ids}))
    if online_only:
        agents = agents.where(User.status == "online")
    for agent_id, status, capacity, last, skills, languages, count in await session.execute(agents):
        pool.loads[agent_id] = AgentLoad(
            agent_id,
            status == "online",
            capacity,
            int(count or 0),
            last,
            dict(skills or {}),
            frozenset(languages or ()),
        )
    pool.members = {q: [a for a in ids if a in pool.loads] for q, ids in pool.members.items()}
    strategies = select(Queue.id, Queue.strategy).where(Queue.id.in_(pool.members))
    pool.strategies = {q: s for q, s in await session.execute(strategies)}
    return pool


class Missed(Enum):
    """Why no agent was locked: those tried turned out FULL (the pool is stale), or some are
    held by other workers (BUSY) and this transaction may not wait for them."""

    FULL = "full"
    BUSY = "busy"


async def claim(
    session: AsyncSession,
    queue_ids: Collection[int] | None = None,
    actor: Actor = SYSTEM,
    *,
    limit: int | None = None,
) -> list[Ticket]:
    """Assign waiting tickets of `queue_ids` (every queue when None), most urgent then oldest
    first, while someone who can take them has room; at most `limit`. Returns those assigned.
    Once it holds an agent it never waits for another (no deadlock), so it may stop early when
    other workers hold the free agents: an empty result means nothing can be assigned now."""
    claimed: list[Ticket] = []
    for _ in range(MAX_ATTEMPTS):
        pool = await read_pool(session, queue_ids)
        if await _claim_with(session, pool, actor, claimed, limit) is not Missed.FULL:
            break
    return claimed


async def claim_next(
    session: AsyncSession, queue_ids: Collection[int] | None = None, actor: Actor = SYSTEM
) -> Ticket | None:
    """Assign the most urgent, then oldest, waiting ticket that a free agent can serve; None when
    no waiting ticket of `queue_ids` (every queue when None) can be assigned now."""
    claimed = await claim(session, queue_ids, actor, limit=1)
    return claimed[0] if claimed else None


async def _claim_with(
    session: AsyncSession, pool: Pool, actor: Actor, claimed: list[Ticket], limit: int | None
) -> Missed | None:
    """Walk the waiting line once with `pool`, assigning what it can; says why it stopped early."""
    after: tuple[int, datetime, int] | None = None
    while limit is None or len(claimed) < limit:
        queues = pool.queues_with_room()
        if not queues:
            return None
        window = await _waiting(session, queues, after)
        for ticket_id, queue_id, priority, created_at, language, skills in window:
            after = (PRIORITY_RANK.get(priority, 2), created_at, ticket_id)
            ranked = pool.ranked(queue_id, TicketNeeds(language, dict(skills or {})))
            if not ranked:
                continue
            ticket = await _lock_waiting(session, ticket_id)
            if ticket is None:
                continue
            agent = await lock_agent_with_room(session, ranked)
            if isinstance(agent, Missed):
                return agent
            await assign_ticket(session, ticket, agent, actor)
            pool.took(agent.id, agent.last_assigned_at)
            claimed.append(ticket)
            if limit is not None and len(claimed) >= limit:
                return None
        if len(window) < WINDOW:
            return None
    return None


async def _waiting(
    session: AsyncSession, queues: list[int], after: tuple[int, datetime, int] | None
) -> list[Any]:
    """The next window of the waiting line, after the position `after` when given."""
    query = select(
        Ticket.id,
        Ticket.queue_id,
        Ticket.priority,
        Ticket.created_at,
        Ticket.language,
        Ticket.skills,
    ).where(Ticket.status == "new", Ticket.assignee_id.is_(None), Ticket.queue_id.in_(queues))
    if after is not None:
        rank, created_at, ticket_id = after
        query = query.where(
            or_(
                line_rank > rank,
                and_(
                    line_rank == rank,
                    or_(
                        Ticket.created_at > created_at,
                        and_(Ticket.created_at == created_at, Ticket.id > ticket_id),
                    ),
                ),
            )
        )
    ordered = query.order_by(line_rank, Ticket.created_at, Ticket.id).limit(WINDOW)
    return list(await session.execute(ordered))


async def _lock_waiting(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket, locked and read fresh, if it still waits and no other worker holds it."""
    ticket: Ticket | None = await session.scalar(
        select(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status == "new", Ticket.assignee_id.is_(None))
        .with_for_update(of=Ticket, skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return ticket


async def lock_agent_with_room(session: AsyncSession, ranked: list[int]) -> User | Missed:
    """The first agent of `ranked` who, under the lock of their row, is online with room.
    An agent another worker holds is waited for only by a transaction that holds no agent yet
    (two transactions each holding one agent and waiting for the other's would deadlock)."""
    busy = []
    for agent_id in ranked:
        agent = await _lock_agent(session, agent_id, wait=False)
        if agent is None:
            busy.append(agent_id)
        elif await _has_room(session, agent):
            return agent
    if busy and _holds_an_agent(session):
        return Missed.BUSY
    if busy:
        agent = await _lock_agent(session, busy[0], wait=True)
        if agent is not None and await _has_room(session, agent):
            return agent
    return Missed.FULL


_AGENT_LOCKS = "agent_locks_in"


def _holds_an_agent(session: AsyncSession) -> bool:
    return session.info.get(_AGENT_LOCKS) is session.get_transaction()


async def _lock_agent(session: AsyncSession, agent_id: int, *, wait: bool) -> User | None:
    """The agent's row, locked and read fresh; None when another worker holds it (not waiting)."""
    agent: User | None = await session.scalar(
        select(User)
        .where(User.id == agent_id)
        # NO KEY UPDATE: rows that merely refer to the agent (messages, events) still go in
        .with_for_update(skip_locked=not wait, key_share=True)
        .execution_options(populate_existing=True)
    )
    if agent is not None:
        session.info[_AGENT_LOCKS] = session.get_transaction()
    return agent


async def _has_room(session: AsyncSession, agent: User) -> bool:
    """Counted under the agent's lock, so no other worker can add a ticket meanwhile."""
    return agent.status == "online" and await open_tickets(session, agent.id) < agent.capacity


async def drain(
    session: AsyncSession, queue_ids: Collection[int] | None = None, actor: Actor = SYSTEM
) -> list[Ticket]:
    """Assign waiting tickets while anyone can take them; returns the tickets assigned."""
    return await claim(session, queue_ids, actor)


async def route_waiting(session: AsyncSession, queue_id: int) -> list[Ticket]:
    """Assign the queue's waiting tickets, most urgent then oldest, while an agent has room."""
    return await drain(session, [queue_id])


async def route_for_agent(session: AsyncSession, agent: User) -> list[Ticket]:
    """After an agent comes online or frees capacity: drain the queues they work in."""
    queue_ids = [q.id for q in agent.queues]
    return await drain(session, queue_ids) if queue_ids else []


async def agent_loads(session: AsyncSession, queue_id: int) -> list[AgentLoad]:
    """Every agent of the queue, online or not, with their open tickets."""
    pool = await read_pool(session, [queue_id], online_only=False)
    return [pool.loads[a] for a in pool.members.get(queue_id, [])]


async def lock_ticket(session: AsyncSession, ticket: Ticket) -> Ticket:
    """Lock the ticket's row (waiting for it), then read it fresh: a worker may have changed it."""
    await session.execute(select(Ticket.id).where(Ticket.id == ticket.id).with_for_update())
    await session.refresh(ticket)
    return ticket


async def assign_ticket(session: AsyncSession, ticket: Ticket, agent: User, actor: Actor) -> None:
    """Give the ticket to the agent: the assignment, the agent joining the conversation, events."""
    if ticket.status not in ACTIVE:
        raise Conflict(f"ticket {ticket.id} is {ticket.status} and cannot be assigned")
    if ticket.assignee_id == agent.id:
        return
    now = utcnow()
    if ticket.assignee_id is not None:
        await end_assignment(session, ticket, now)
    ticket.assignee_id = agent.id
    ticket.assignee = agent
    if ticket.status == "new":
        ticket.status = "open"
    agent.last_assigned_at = now
    session.add(Assignment(ticket_id=ticket.id, agent_id=agent.id, assigned_at=now))
    conversation = await session.get(Conversation, ticket.conversation_id)
    assert conversation is not None  # foreign key
    await set_conversation_status(session, conversation, "with_agent", actor)
    joined = f"{agent.display_name} joined the conversation."
    await add_message(session, conversation, "system", joined)
    record_ticket(
        session,
        actor,
        "assign_ticket",
        "ticket_assigned",
        ticket,
        agent_id=agent.id,
        payload={"agent_id": agent.id},
    )


async def unassign_ticket(
    session: AsyncSession, ticket: Ticket, actor: Actor, *, event: str, payload: dict[str, object]
) -> None:
    """Put the ticket back in its queue's waiting line (its conversation waits for a person)."""
    previous = ticket.assignee_id
    await end_assignment(session, ticket, utcnow())
    ticket.assignee_id, ticket.assignee, ticket.status = None, None, "new"
    conversation = await session.get(Conversation, ticket.conversation_id)
    assert conversation is not None  # foreign key
    await set_conversation_status(session, conversation, "waiting", actor)
    record_ticket(session, actor, event, event, ticket, agent_id=previous, payload=payload)


async def end_assignment(session: AsyncSession, ticket: Ticket, when: datetime) -> None:
    current = await session.scalar(
        select(Assignment).where(Assignment.ticket_id == ticket.id, Assignment.ended_at.is_(None))
    )
    if current is not None:
        current.ended_at = when


def record_ticket(
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
