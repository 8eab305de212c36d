"""Quality reports at scale on PostgreSQL: the dashboard and the 30-day HTML report over a
million conversations.

    DATABASE_URL=postgresql+asyncpg://user@host/db python benchmarks/reports.py --json
        [--conversations 1000000] [--days 30] [--agents 40] [--keep]

The run happens in a scratch database created next to the one DATABASE_URL names (dropped
afterwards unless --keep), migrated with helpline's own migrations. Folding a million
conversations' events through the engine would measure the event fold, not the reports, so the
per-conversation rows (`report_conversations`, `report_agent_parts`) are written directly with
asyncpg's COPY, spread over the last --days days, exactly as the report refresh would have
stored them. Then helpline's own code builds the daily rollups from them (`rollups_s`), the
dashboard's queries run over all the data through `bot.report_store.stored_sums` and
`scoring.dashboard.dashboard` (`dashboard_ms`, best of three after one warm-up; `dashboard_30d_ms`
for the default 30-day period, which also reads the first day's rows). `report_html_s` times
the work of `helpline report --since 30d --format html` (migrations checked, rollups refreshed and
read, the page rendered) in this process; `report_cli_s` runs the same command as a separate
process, so it adds Python's start-up and the imports of the whole application."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scratch import run_on_scratch_database
from bot.cli.report import write_report
from bot.report_store import rebuild_all, stored_sums
from bot.reporting import parse_period, staff_names
from bot.settings import load_settings
from scoring.conversations import ReportFilter
from scoring.dashboard import dashboard
from scoring.facts import AGENT_MEASURES, MEASURES
from scoring.satisfaction import PRIOR
from storage import migrate
from storage.database import Database

ROOT = Path(__file__).resolve().parents[1]
QUEUES = ("billing", "orders", "tech", "general")
USER_COLUMNS = (
    "id", "username", "display_name", "password_hash", "role", "status", "capacity", "skills",
    "languages", "created_at",
)  # fmt: skip
CHANNELS = ("web", "web", "telegram", "rest")
INTENTS = (
    "shipping_info", "returns_info", "order_status", "payment_methods", "product_info",
    "account_help", "billing_issue", "refund_request", "damaged_item", "technical_issue",
    "human_handoff", None,
)  # fmt: skip
CONVERSATION_COLUMNS = (
    "conversation_id", "day", "started_at", "queue", "agent_id", "channel", "intent", "ticket_id",
    "rating", "first_response_s", "resolution_s", "customer_messages", "sentiment_start",
    "sentiment_end", *MEASURES,
)  # fmt: skip
PART_COLUMNS = (
    "conversation_id", "agent_id", "day", "started_at", "queue", "conversation_agent_id",
    "channel", "intent", *AGENT_MEASURES,
)  # fmt: skip


def conversation(n: int, today: date, days: int, agents: int, rng: random.Random) -> tuple[
    tuple[Any, ...], tuple[Any, ...] | None
]:  # fmt: skip
    """One conversation's stored row and, when a person handled it, its agent's part."""
    started = datetime.combine(today - timedelta(days=rng.randrange(days)), datetime.min.time(),
                               UTC) + timedelta(seconds=rng.randrange(86400))  # fmt: skip
    channel, intent = rng.choice(CHANNELS), rng.choice(INTENTS)
    handed = rng.random() < 0.55
    agent = rng.randrange(1, agents + 1) if handed else None
    queue = QUEUES[agent % len(QUEUES)] if agent else None
    resolved = (not handed) or rng.random() < 0.85
    rating = rng.choice((1, 2, 3, 4, 4, 5, 5, 5)) if rng.random() < 0.3 else None
    first = rng.expovariate(1 / 300) if handed else None
    resolution = first + rng.expovariate(1 / 3600) if handed and resolved and first else None
    breached = handed and rng.random() < 0.1
    ms = {"first": round((first or 0) * 1000), "res": round((resolution or 0) * 1000)}
    satisfied = int(rating is not None and rating >= 4)
    tickets = int(handed and resolved)
    measures = {
        "conversations": 1, "handed_off": int(handed), "contained": int(not handed),
        "resolved": int(resolved), "ratings": int(rating is not None), "satisfied": satisfied,
        "tickets_resolved": tickets, "first_response_ms": ms["first"],
        "first_response_n": int(first is not None), "resolution_ms": ms["res"],
        "resolution_n": int(resolution is not None), "sla_met": int(tickets and not breached),
        "sla_total": tickets, "predicted_micro": rng.randrange(200_000, 950_000),
        "handoffs": int(handed), "transfers": int(handed and rng.random() < 0.05), "reopens": 0,
        "messages_in": (said := rng.randrange(1, 6)), "fallbacks": int(rng.random() < 0.1),
        "kb_answers": int(not handed), "surveys": int(resolved), "ratings_refused": 0,
    }  # fmt: skip
    row = (
        n, started.date(), started, queue, agent, channel, intent, n if handed else None, rating,
        first, resolution, said, rng.uniform(-1, 1), rng.uniform(-1, 1),
        *(measures[m] for m in MEASURES),
    )  # fmt: skip
    if agent is None:
        return row, None
    part = {
        "assigned": 1, "resolved": tickets, "handle_ms": ms["res"], "handle_n": tickets,
        "first_response_ms": ms["first"], "first_response_n": 1,
        "reply_ms": ms["first"], "reply_n": 1, "resolution_ms": ms["res"],
        "resolution_n": tickets, "reopened": 0, "transfers": measures["transfers"],
        "sla_met": measures["sla_met"], "ratings": measures["ratings"], "satisfied": satisfied,
    }  # fmt: skip
    where = (started.date(), started, queue, agent, channel, intent)
    return row, (n, agent, *where, *(part[m] for m in AGENT_MEASURES))


async def fill(url: str, conversations: int, days: int, agents: int) -> float:
    """COPY the stored rows of `conversations` conversations; returns the seconds it took."""
    started = time.perf_counter()
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password,
        database=parsed.database,
    )  # fmt: skip
    try:
        now = datetime.now(UTC)
        users = [
            (n, f"agent{n}", f"Agent {n}", "-", "agent", "offline", 3, "{}", "[]", now)
            for n in range(1, agents + 1)
        ]
        await connection.copy_records_to_table("users", records=users, columns=USER_COLUMNS)
        await connection.execute(
            "INSERT INTO report_model (id, weights, learned_from, rated_at_fit, fitted_at) "
            "VALUES (1, $1, 0, $2, now())",
            json.dumps(PRIOR),
            int(conversations * 0.3),
        )
        rng, today = random.Random(7), datetime.now(UTC).date()
        chunk = 100_000
        for start in range(1, conversations + 1, chunk):
            made = [conversation(n, today, days, agents, rng)
                    for n in range(start, min(start + chunk, conversations + 1))]  # fmt: skip
            await connection.copy_records_to_table(
                "report_conversations", records=[r for r, _ in made], columns=CONVERSATION_COLUMNS
            )
            await connection.copy_records_to_table(
                "report_agent_parts",
                records=[p for _, p in made if p is not None],
                columns=PART_COLUMNS,
            )
        await connection.execute("ANALYZE report_conversations; ANALYZE report_agent_parts")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def build_rollups(db: Database) -> float:
    started = time.perf_counter()
    async with db.session() as session, session.begin():
        await rebuild_all(session)
    async with db.engine.connect() as connection:
        await connection.exec_driver_sql("ANALYZE report_rollups")
        await connection.exec_driver_sql("ANALYZE report_agent_rollups")
    return time.perf_counter() - started


async def dashboard_ms(db: Database, chosen: ReportFilter, days: int | None) -> float:
    """Best of three runs (after one warm-up) of the dashboard's queries and figures."""
    timings = []
    for _ in range(4):
        started = time.perf_counter()
        async with db.session() as session:
            data = dashboard(await stored_sums(session, chosen), await staff_names(session), days)
        timings.append((time.perf_counter() - started) * 1000)
    assert data["summary"]["conversations"] > 0
    return min(timings[1:])


def report_html_s(url: str) -> float:
    """The work of `helpline report --since 30d --format html` once its options are read:
    migrations checked, rollups refreshed and read, the page rendered."""
    settings = load_settings(ROOT / "config.yml", {"DATABASE_URL": url})
    chosen = ReportFilter(since=parse_period("30d"))
    started = time.perf_counter()
    page = write_report(settings, chosen, "html", "30d", rebuild=False)
    seconds = time.perf_counter() - started
    assert "<svg" in page
    return seconds


def report_cli_s(url: str) -> float:
    """The same command as a separate process, Python start-up and imports included."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "report.html"
        env = dict(os.environ, DATABASE_URL=url, HF_HUB_OFFLINE="1")
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 (a fixed command: this interpreter running helpline)
            [sys.executable, "-m", "bot", "report", "--since", "30d", "--format", "html",
             "--out", str(out), "--config", str(ROOT / "config.yml")],
            env=env, check=True, capture_output=True, cwd=ROOT, timeout=600,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        assert "<svg" in out.read_text(encoding="utf-8")
    return seconds


async def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    await asyncio.to_thread(migrate.upgrade, url)
    fill_s = await fill(url, args.conversations, args.days, args.agents)
    db = Database(url)
    try:
        rollups_s = await build_rollups(db)
        everything = await dashboard_ms(db, ReportFilter(), None)
        since = datetime.now(UTC) - timedelta(days=30)
        last_30 = await dashboard_ms(db, ReportFilter(since=since), 30)
        async with db.engine.connect() as connection:
            rollup_rows = (
                await connection.exec_driver_sql("SELECT count(*) FROM report_rollups")
            ).scalar_one()
    finally:
        await db.dispose()
    html_s = await asyncio.to_thread(report_html_s, url)
    cli_s = await asyncio.to_thread(report_cli_s, url)
    return {
        "database": "postgresql",
        "conversations": args.conversations,
        "days": args.days,
        "agents": args.agents,
        "rollup_rows": rollup_rows,
        "fill_s": round(fill_s, 1),
        "rollups_s": round(rollups_s, 1),
        "dashboard_ms": round(everything, 1),
        "dashboard_30d_ms": round(last_30, 1),
        "report_html_s": round(html_s, 2),
        "report_cli_s": round(cli_s, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    await run_on_scratch_database(args, run)


if __name__ == "__main__":
    asyncio.run(main())
