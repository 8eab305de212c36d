"""Workers claiming waiting tickets at once: 2,000 tickets, 20 agents, 4 workers on PostgreSQL
(one on SQLite, whose single writer is its concurrency control). No ticket is assigned twice,
no agent goes past capacity, and nothing waits while someone who could take it has room."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, insert, select

from actions.assignment import LOAD, claim
from storage.database import Database
from storage.models import (
    AgentQueue,
    Assignment,
    Conversation,
    Customer,
    Event,
    Queue,
    Ticket,
    User,
    utcnow,
)

TICKETS = 2000
AGENTS = 20
CAPACITIES = [85 + n for n in range(AGENTS)]  # 1,890 places for 2,000 tickets
BATCH = 10  # tickets claimed per transaction
PRIORITIES = ["normal", "low", "high", "normal", "urgent"]


async def seed(db: Database, tickets: int = TICKETS, capacities: list[int] = CAPACITIES) -> None:
    """Online agents of billing with `capacities` and `tickets` waiting in billing, in bulk."""
    now = utcnow()
    async with db.session() as session, session.begin():
        billing = await session.scalar(select(Queue.id).where(Queue.name == "billing"))
        users = [
            {
                "username": f"agent{n}",
                "display_name": f"Agent {n}",
                "password_hash": "-",
                "role": "agent",
                "status": "online",
                "capacity": capacity,
                "skills": {"billing": 1},
                "languages": [],
                "created_at": now,
            }
            for n, capacity in enumerate(capacities)
        ]
        await session.execute(insert(User), users)
        ids = list(await session.scalars(select(User.id).order_by(User.id)))
        await session.execute(
            insert(AgentQueue), [{"user_id": i, "queue_id": billing} for i in ids]
        )
        customers = [{"display_name": f"c{n}", "created_at": now} for n in range(tickets)]
        await session.execute(insert(Customer), customers)
        customer_ids = list(await session.scalars(select(Customer.id).order_by(Customer.id)))
        conversations = [
            {"customer_id": c, "channel": "rest", "status": "waiting", "unclear_count": 0,
             "created_at": now, "updated_at": now}
            for c in customer_ids
        ]  # fmt: skip
        await session.execute(insert(Conversation), conversations)
        conversation_ids = list(
            await session.scalars(select(Conversation.id).order_by(Conversation.id))
        )
        rows = [
            {
                "conversation_id": c,
                "idempotency_key": f"seed-{c}",
                "subject": "help",
                "priority": PRIORITIES[n % len(PRIORITIES)],
                "status": "new",
                "tags": [],
                "skills": {},
                "sla_marks": {},
                "queue_id": billing,
                "created_at": now,
            }
            for n, c in enumerate(conversation_ids)
        ]
        await session.execute(insert(Ticket), rows)


async def worker(db: Database) -> list[int]:
    """Claim, a few tickets per transaction, until nothing can be claimed; returns the ids."""
    claimed: list[int] = []
    while True:
        async with db.session() as session, session.begin():
            tickets = await claim(session, limit=BATCH)
        if not tickets:
            return claimed
        claimed += [t.id for t in tickets]


async def check_outcome(db: Database, capacities: list[int]) -> int:
    async with db.session() as session:
        assigned = int(
            await session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.assignee_id.is_not(None))
            )
            or 0
        )
        doubles = await session.scalar(
            select(func.count()).select_from(
                select(Assignment.ticket_id)
                .group_by(Assignment.ticket_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        assert doubles == 0
        assert await session.scalar(select(func.count()).select_from(Assignment)) == assigned
        events = select(func.count()).select_from(Event).where(Event.type == "ticket_assigned")
        assert await session.scalar(events) == assigned
        loads = dict(
            (
                await session.execute(
                    select(User.id, func.count(Ticket.id))
                    .outerjoin(Ticket, (Ticket.assignee_id == User.id) & Ticket.status.in_(LOAD))
                    .group_by(User.id)
                )
            ).all()
        )
        caps = dict((await session.execute(select(User.id, User.capacity))).all())
        waiting = await session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.status == "new")
        )
        urgent_waiting = await session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.status == "new", Ticket.priority == "urgent")
        )
    assert all(loads[a] <= caps[a] for a in caps)  # capacities respected
    assert assigned + (waiting or 0) == TICKETS
    assert assigned == min(TICKETS, sum(capacities))  # nothing waits while anyone has room
    assert all(loads[a] == caps[a] for a in caps)
    assert urgent_waiting == 0  # the most urgent went first
    return assigned


async def test_four_workers_on_postgres_assign_each_ticket_once(
    database_url: str, db: Database
) -> None:
    if not database_url.startswith("postgresql"):
        # SQLite: one worker; its single writer makes concurrent claims wait, not race.
        await seed(db)
        took = await worker(db)
        assert len(took) == sum(CAPACITIES)
        assert await check_outcome(db, CAPACITIES) == sum(CAPACITIES)
        return
    await seed(db)

    results = await asyncio.gather(*(worker(db) for _ in range(4)))

    assert sum(len(r) for r in results) == sum(CAPACITIES)
    assert all(results), "every worker claimed some tickets"
    assert await check_outcome(db, CAPACITIES) == sum(CAPACITIES)
