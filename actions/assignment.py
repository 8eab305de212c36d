"""Claiming waiting tickets for agents, safely when several workers assign at once.

On PostgreSQL a claim locks a window of waiting tickets with `FOR UPDATE SKIP LOCKED` (another
worker's tickets are skipped, never waited for) and then, as it needs them, agents' rows, counting
each agent's open tickets once under that lock and keeping the count itself while it holds the
agent: two workers can neither assign one ticket twice nor fill one agent past capacity. A worker
that already holds an agent never waits for another (it stops early instead), so at most one wait
happens while holding no agent: no deadlock. The writes of a window go to the database together
(one flush), which is what makes a busy queue drain at hundreds of tickets a second. On SQLite the
database lets one writer in at a time, which gives the same guarantee.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import add_system_messages, set_conversation_status
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


@dataclass
class Held:
    """The agents one claim has locked, with the room each has left: counted once under the
    lock, then kept here as tickets are given out."""

    agents: dict[int, User] = field(default_factory=dict)
    room: dict[int, int] = field(default_factory=dict)
    busy: set[int] = field(default_factory=set)  # held by other workers when last tried

    async def lock(
        self, session: AsyncSession, agent_ids: list[int], *, wait: bool = False
    ) -> None:
        """Lock the agents' rows in one statement (skipping those other workers hold, unless
        `wait`), read them fresh and count their open tickets under the lock."""
        wanted = [a for a in agent_ids if a not in self.agents]
        if not wanted:
            return
        locked = list(
            await session.scalars(
                select(User)
                .where(User.id.in_(wanted))
                .order_by(User.id)
                # NO KEY UPDATE: rows that merely refer to the agent (messages, events) still go in
                .with_for_update(skip_locked=not wait, key_share=True)
                .execution_options(populate_existing=True)
            )
        )
        self.busy.update(wanted)
        if not locked:
            return
        session.info[_AGENT_LOCKS] = session.get_transaction()
        counts: dict[int | None, int] = {
            agent_id: count
            for agent_id, count in await session.execute(
                select(Ticket.assignee_id, func.count())
                .where(Ticket.assignee_id.in_([a.id for a in locked]), Ticket.status.in_(LOAD))
                .group_by(Ticket.assignee_id)
            )
        }
        for agent in locked:
            self.busy.discard(agent.id)
            self.agents[agent.id] = agent
            room = agent.capacity - counts.get(agent.id, 0)
            self.room[agent.id] = room if agent.status == "online" else 0

    def first_free(self, ranked: list[int]) -> User | None:
        return next((self.agents[a] for a in ranked if self.room.get(a, 0) > 0), None)


async def _claim_with(
    session: AsyncSession, pool: Pool, actor: Actor, claimed: list[Ticket], limit: int | None
) -> Missed | None:
    """Walk the waiting line once with `pool`, assigning what it can; says why it stopped early."""
    after: tuple[int, datetime, int] | None = None
    held = Held()
    while limit is None or len(claimed) < limit:
        queues = pool.queues_with_room()
        if not queues:
            return None
        size = WINDOW if limit is None else min(WINDOW, limit - len(claimed))
        window = await _waiting(session, queues, after, size)
        given: list[tuple[Ticket, User]] = []
        missed: Missed | None = None
        for ticket in window:
            after = (PRIORITY_RANK.get(ticket.priority, 2), ticket.created_at, ticket.id)
            needs = TicketNeeds(ticket.language, dict(ticket.skills or {}))
            ranked = pool.ranked(ticket.queue_id, needs)
            if not ranked:
                continue
            agent = await lock_agent_with_room(session, ranked, held)
            if isinstance(agent, Missed):
                missed = agent
                break
            given.append((ticket, agent))
            held.room[agent.id] -= 1
            pool.took(agent.id, utcnow())
        await assign_tickets(session, given, actor)
        claimed.extend(ticket for ticket, _ in given)
        if missed is not None or len(window) < size:
            return missed
    return None


async def _waiting(
    session: AsyncSession, queues: list[int], after: tuple[int, datetime, int] | None, size: int
) -> list[Ticket]:
    """The next `size` tickets of the waiting line after the position `after` (when given),
    locked and read fresh; those other workers hold are skipped."""
    query = select(Ticket).where(
        Ticket.status == "new", Ticket.assignee_id.is_(None), Ticket.queue_id.in_(queues)
    )
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
    ordered = (
        query.order_by(line_rank, Ticket.created_at, Ticket.id)
        .limit(size)
        .with_for_update(of=Ticket, skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(ordered))


async def lock_agent_with_room(
    session: AsyncSession, ranked: list[int], held: Held | None = None
) -> User | Missed:
    """The first agent of `ranked` who, under the lock of their row, is online with room (those
    in `held` are locked already and have their room counted). An agent another worker holds is
    waited for only by a transaction that holds no agent yet (two transactions each holding one
    agent and waiting for the other's would deadlock)."""
    held = held if held is not None else Held()
    await held.lock(session, [a for a in ranked if a not in held.busy])
    agent = held.first_free(ranked)
    if agent is not None:
        return agent
    busy = [a for a in ranked if a in held.busy]
    if busy and _holds_an_agent(session):
        return Missed.BUSY
    if busy:
        await held.lock(session, busy[:1], wait=True)
        await held.lock(session, busy[1:])  # its holder may be done with the others too
        agent = held.first_free(ranked)
    return agent if agent is not None else Missed.FULL


_AGENT_LOCKS = "agent_locks_in"


def _holds_an_agent(session: AsyncSession) -> bool:
    return session.info.get(_AGENT_LOCKS) is session.get_transaction()


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
    await assign_tickets(session, [(ticket, agent)], actor)


async def assign_tickets(
    session: AsyncSession, given: list[tuple[Ticket, User]], actor: Actor
) -> None:
    """Give each (active) ticket to its agent, writing everything with one flush."""
    now = utcnow()
    joined: list[tuple[Conversation, str]] = []
    for ticket, agent in given:
        if ticket.assignee_id == agent.id:
            continue
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
        joined.append((conversation, f"{agent.display_name} joined the conversation."))
        record_ticket(
            session,
            actor,
            "assign_ticket",
            "ticket_assigned",
            ticket,
            agent_id=agent.id,
            payload={"agent_id": agent.id},
        )
    if joined:
        await add_system_messages(session, joined)


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
