"""The report refresh on a busy day, on SQLite: how long it holds up the turns' writes.

    python benchmarks/report_refresh.py --json [--today 30000] [--changed 750] [--rounds 5]

A scratch SQLite database (migrated with helpline's own migrations) gets --today conversations
already folded today (their stored rows written directly, as `benchmarks/reports.py` writes
them, and the rollups built by helpline), then --changed conversations with real events: each
round adds one customer message to each of them and times `refresh` in its own transaction,
as the periodic job runs it (`refresh_ms_*`: median, min and max over the rounds). That is what
the server does every `routing.check_every_seconds` under load: at 100 conversations a second,
some 750 conversations change in 30 s. Meanwhile a probe writes as a turn does (through
`Database.writing`, one small transaction every 5 ms): `turn_write_ms_max` and `_p99` are how
long its writes took from when they were due, waiting included. `refit_ms` is a
refit of the satisfaction model before the rounds: fitted to the rated conversations (30% of
those folded today), then every conversation predicted again and the rollups rebuilt."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.reports import CONVERSATION_COLUMNS, PART_COLUMNS, conversation
from bot.report_store import rebuild_all, refit_if_due, refresh, stored_model
from storage import migrate
from storage.database import Database
from storage.models import (
    Conversation,
    Customer,
    Event,
    ReportAgentPart,
    ReportConversation,
    ReportRollup,
)


async def fold_today(db: Database, today: int, agents: int) -> None:
    """`today` conversations of today, folded: their rows and the rollups built from them."""
    rng = random.Random(7)
    made = [conversation(n, datetime.now(UTC).date(), 1, agents, rng) for n in range(1, today + 1)]
    async with db.session() as session, session.begin():
        rows = [dict(zip(CONVERSATION_COLUMNS, row, strict=True)) for row, _ in made]
        parts = [dict(zip(PART_COLUMNS, part, strict=True)) for _, part in made if part]
        await session.execute(insert(ReportConversation.__table__), rows)
        await session.execute(insert(ReportAgentPart.__table__), parts)
        await rebuild_all(session)


async def start_conversations(db: Database, first_id: int, count: int) -> list[int]:
    """`count` conversations with their first events (the trigger marks them changed)."""
    ids = list(range(first_id, first_id + count))
    now = datetime.now(UTC)
    async with db.session() as session, session.begin():
        customer = Customer(display_name="Load")
        session.add(customer)
        await session.flush()
        session.add_all(
            Conversation(id=i, customer_id=customer.id, channel="web", status="bot") for i in ids
        )
        await session.flush()
        await session.execute(
            insert(Event),
            [{"type": "conversation_started", "conversation_id": i, "queue": None,
              "payload": {"channel": "web"}, "created_at": now} for i in ids],
        )  # fmt: skip
    await customer_messages(db, ids)
    return ids


async def customer_messages(db: Database, ids: list[int]) -> None:
    now = datetime.now(UTC)
    async with db.session() as session, session.begin():
        await session.execute(
            insert(Event),
            [{"type": "message_from_customer", "conversation_id": i, "created_at": now,
              "payload": {"intent": "order_status", "sentiment": 0.0}} for i in ids],
        )  # fmt: skip


async def timed_refresh(db: Database) -> tuple[float, int]:
    started = time.perf_counter()
    async with db.session() as session, session.begin():
        folded = await refresh(session)
    return (time.perf_counter() - started) * 1000, folded


async def probe_writes(db: Database, stop: asyncio.Event) -> list[float]:
    """Write as a turn does, one every 5 ms, until `stop`; returns how long each took from the
    moment it was due, in ms: a turn that arrives while the event loop is busy waits for it."""
    took = []
    due = time.perf_counter()
    while not stop.is_set():
        async with db.writing(), db.session() as session, session.begin():
            await session.execute(
                insert(Event), {"type": "probe", "payload": {}, "created_at": datetime.now(UTC)}
            )
        took.append((time.perf_counter() - due) * 1000)
        due = max(due + 0.005, time.perf_counter())
        await asyncio.sleep(due - time.perf_counter())
    return took


async def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    await migrate.upgrade_async(url)
    db = Database(url)
    try:
        await fold_today(db, args.today, args.agents)
        started = time.perf_counter()
        async with db.session() as session, session.begin():
            assert await refit_if_due(session, await stored_model(session))
        refit_ms = (time.perf_counter() - started) * 1000
        changed = await start_conversations(db, args.today + 1, args.changed)
        await timed_refresh(db)  # folds them in
        timings, writes = [], []
        for _ in range(args.rounds):
            await customer_messages(db, changed)
            stop = asyncio.Event()
            probe = asyncio.create_task(probe_writes(db, stop))
            await asyncio.sleep(0.02)  # the probe is writing when the refresh starts
            took, folded = await timed_refresh(db)
            stop.set()
            writes += await probe
            assert folded == len(changed), (folded, len(changed))
            timings.append(took)
        async with db.session() as session:
            rollup_rows = await session.scalar(select(func.count()).select_from(ReportRollup))
            total = await session.scalar(select(func.sum(ReportRollup.conversations)))
    finally:
        await db.dispose()
    assert total == args.today + args.changed, total
    return {
        "database": "sqlite",
        "today_conversations": args.today,
        "changed": args.changed,
        "rounds": args.rounds,
        "rollup_rows": rollup_rows,
        "refit_ms": round(refit_ms, 1),
        "refresh_ms_p50": round(statistics.median(timings), 1),
        "refresh_ms_min": round(min(timings), 1),
        "refresh_ms_max": round(max(timings), 1),
        "turn_writes": len(writes),
        "turn_write_ms_p50": round(statistics.median(writes), 1),
        "turn_write_ms_p99": round(statistics.quantiles(writes, n=100)[-1], 1),
        "turn_write_ms_max": round(max(writes), 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--today", type=int, default=30_000, help="conversations folded today")
    parser.add_argument("--changed", type=int, default=750, help="conversations that change")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--agents", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        result = await run(f"sqlite+aiosqlite:///{Path(directory) / 'refresh.db'}", args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")


if __name__ == "__main__":
    asyncio.run(main())
