"""Concurrent ticket assignment on PostgreSQL: N workers claim waiting tickets at once.

    DATABASE_URL=postgresql+asyncpg://user@host/db python benchmarks/routing.py --json
        [--workers 4] [--tickets 2000] [--agents 20] [--batch 50] [--processes] [--keep]

The run happens in a scratch database created next to the one DATABASE_URL names (and dropped
afterwards unless --keep), migrated with helpline's own migrations. Every agent is online in one
queue with room for tickets / agents, so every ticket can be assigned. Each worker opens a
transaction, claims up to --batch tickets with `actions.assignment.claim` (SELECT ... FOR UPDATE
SKIP LOCKED on the ticket, then the agent's row), commits, and goes again until nothing is left.
`p95_ms` is the 95th percentile of one transaction's time divided by the tickets it assigned.
The checks read the result back: `double_assignments` (tickets with more than one assignment),
`over_capacity` (agents past their capacity) and `left_waiting` (tickets nobody took)."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actions.assignment import LOAD, claim
from actions.users import QueueSpec, sync_queues
from benchmarks.scratch import run_on_scratch_database
from storage import migrate
from storage.database import Database
from storage.models import (
    AgentQueue,
    Assignment,
    Conversation,
    Customer,
    Queue,
    Ticket,
    User,
    utcnow,
)

PRIORITIES = ["normal", "low", "high", "normal", "urgent"]


async def seed(db: Database, tickets: int, agents: int) -> None:
    """`agents` online agents of one queue, with room for every one of `tickets` waiting there."""
    now = utcnow()
    capacity = -(-tickets // agents)
    async with db.session() as session, session.begin():
        await sync_queues(session, [QueueSpec("billing", ("billing",))])
        queue = await session.scalar(select(Queue.id).where(Queue.name == "billing"))
        await session.execute(
            insert(User),
            [
                {"username": f"agent{n}", "display_name": f"Agent {n}", "password_hash": "-",
                 "role": "agent", "status": "online", "capacity": capacity,
                 "skills": {"billing": 1}, "languages": [], "created_at": now}
                for n in range(agents)
            ],
        )  # fmt: skip
        users = list(await session.scalars(select(User.id)))
        await session.execute(
            insert(AgentQueue), [{"user_id": u, "queue_id": queue} for u in users]
        )
        await session.execute(
            insert(Customer), [{"display_name": f"c{n}", "created_at": now} for n in range(tickets)]
        )
        customers = list(await session.scalars(select(Customer.id).order_by(Customer.id)))
        await session.execute(
            insert(Conversation),
            [
                {"customer_id": c, "channel": "rest", "status": "waiting", "unclear_count": 0,
                 "created_at": now, "updated_at": now}
                for c in customers
            ],
        )  # fmt: skip
        conversations = list(
            await session.scalars(select(Conversation.id).order_by(Conversation.id))
        )
        await session.execute(
            insert(Ticket),
            [
                {"conversation_id": c, "idempotency_key": f"bench-{c}", "subject": "help",
                 "priority": PRIORITIES[n % len(PRIORITIES)], "status": "new", "tags": [],
                 "skills": {}, "sla_marks": {}, "queue_id": queue, "created_at": now}
                for n, c in enumerate(conversations)
            ],
        )  # fmt: skip


async def worker(db: Database, batch: int, per_ticket_ms: list[float]) -> int:
    assigned = 0
    while True:
        started = time.perf_counter()
        async with db.session() as session, session.begin():
            tickets = await claim(session, limit=batch)
        if not tickets:
            return assigned
        elapsed_ms = (time.perf_counter() - started) * 1000
        per_ticket_ms.extend([elapsed_ms / len(tickets)] * len(tickets))
        assigned += len(tickets)


async def verify(db: Database) -> dict[str, int]:
    async with db.session() as session:
        doubles = await session.scalar(
            select(func.count()).select_from(
                select(Assignment.ticket_id)
                .group_by(Assignment.ticket_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        loads = (
            await session.execute(
                select(User.capacity, func.count(Ticket.id))
                .outerjoin(Ticket, (Ticket.assignee_id == User.id) & Ticket.status.in_(LOAD))
                .group_by(User.id, User.capacity)
            )
        ).all()
        waiting = await session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.assignee_id.is_(None))
        )
    return {
        "double_assignments": int(doubles or 0),
        "over_capacity": sum(1 for capacity, count in loads if count > capacity),
        "left_waiting": int(waiting or 0),
    }


async def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(url)
    try:
        await seed(db, args.tickets, args.agents)
        per_ticket_ms: list[float] = []
        if args.processes:
            counts, seconds = await _in_processes(url, args, per_ticket_ms)
        else:
            started = time.perf_counter()
            counts = await asyncio.gather(
                *(worker(db, args.batch, per_ticket_ms) for _ in range(args.workers))
            )
            seconds = time.perf_counter() - started
        checks = await verify(db)
    finally:
        await db.dispose()
    assigned = sum(counts)
    return {
        "database": make_url(url).get_backend_name(),
        "workers": args.workers,
        "tickets": args.tickets,
        "agents": args.agents,
        "batch": args.batch,
        "mode": "processes" if args.processes else "tasks",
        "assigned": assigned,
        "seconds": round(seconds, 3),
        "assignments_per_s": round(assigned / seconds, 1) if seconds else 0.0,
        "p50_ms": round(statistics.median(per_ticket_ms), 2) if per_ticket_ms else None,
        "p95_ms": round(_percentile(per_ticket_ms, 0.95), 2) if per_ticket_ms else None,
        **checks,
    }


async def _in_processes(
    url: str, args: argparse.Namespace, per_ticket_ms: list[float]
) -> tuple[list[int], float]:
    """One OS process per worker, as several `helpline serve` processes would run."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        loop = asyncio.get_running_loop()
        runs = await asyncio.gather(
            *(
                loop.run_in_executor(pool, _process_worker, url, args.batch)
                for _ in range(args.workers)
            )
        )
    for _, _, _, latencies in runs:
        per_ticket_ms.extend(latencies)
    seconds = max(end for _, _, end, _ in runs) - min(start for _, start, _, _ in runs)
    return [count for count, _, _, _ in runs], seconds


def _process_worker(url: str, batch: int) -> tuple[int, float, float, list[float]]:
    async def work() -> tuple[int, float, float, list[float]]:
        db = Database(url)
        try:
            async with db.session() as session:  # connect before the clock starts
                await session.scalar(select(1))
            latencies: list[float] = []
            started = time.time()
            count = await worker(db, batch, latencies)
            return count, started, time.time(), latencies
        finally:
            await db.dispose()

    return asyncio.run(work())


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument(
        "--batch", type=int, default=50, help="tickets claimed per transaction (a drain's window)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--processes", action="store_true", help="one OS process per worker (default: tasks)"
    )
    args = parser.parse_args()
    await run_on_scratch_database(args, run)


if __name__ == "__main__":
    asyncio.run(main())
