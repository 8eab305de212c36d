"""Reports for the pages, the CLI and the exports: filters from request or command-line input,
the dashboard read from the stored rollups, the conversations read from their stored rows, and
one conversation's score. bot/report_store.py keeps what they read exact."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import get_conversation, transcript
from actions.errors import InvalidInput, NotFound
from bot.report_store import (
    conversations_query,
    micro,
    read_events,
    refresh,
    stored_model,
    stored_sums,
    to_row,
)
from bot.views import iso
from bot.web.charts import bar_chart, line_chart
from scoring import Report, ReportFilter, build_report
from scoring.dashboard import dashboard, sums_in_memory
from scoring.facts import conversation_facts, facts_by_conversation
from scoring.satisfaction import SatisfactionModel, explain
from storage.models import CsatResponse, Event, ReportConversation, User

CSV_COLUMNS = (
    "conversation_id",
    "started_at",
    "channel",
    "intent",
    "ticket_id",
    "queue",
    "agent",
    "handed_off",
    "resolved",
    "first_response_s",
    "resolution_s",
    "rating",
    "predicted_satisfaction",
)
CSV_BATCH = 5000
DRILL_DOWN_LIMIT = 500  # rows on the conversations page; the CSV has them all
REFRESH_ON_READ = 5000  # dirty conversations a page folds before reading; the timer does the rest
_PERIOD = re.compile(r"^(\d{1,4})([dh])$")


def parse_period(text: str | None, now: datetime | None = None) -> datetime | None:
    """`7d` or `12h` -> the moment that long ago; empty or `all` -> None (no limit)."""
    if text is None or text in ("", "all"):
        return None
    match = _PERIOD.match(text)
    if match is None:
        raise InvalidInput(f"a period looks like 7d or 12h (or all), got {text[:20]!r}")
    amount, unit = int(match.group(1)), match.group(2)
    delta = timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
    return (now or datetime.now(UTC)) - delta


def report_filter(query: dict[str, str], now: datetime | None = None) -> ReportFilter:
    agent = query.get("agent") or None
    if agent is not None and not agent.isdigit():
        raise InvalidInput(f"agent must be an agent's number, got {agent[:20]!r}")
    return ReportFilter(
        since=parse_period(query.get("period", "30d"), now),
        queue=query.get("queue") or None,
        agent_id=int(agent) if agent else None,
        channel=query.get("channel") or None,
        intent=query.get("intent") or None,
    )


async def load_report(session: AsyncSession, chosen: ReportFilter) -> tuple[Report, dict[int, str]]:
    """The whole report folded in memory from the event log (small databases and tests)."""
    return build_report(await read_events(session), chosen), await staff_names(session)


async def catch_up(session: AsyncSession) -> None:
    """Fold what changed since the last refresh, so a page shows every event it can."""
    await refresh(session, REFRESH_ON_READ, wait=False)
    await session.commit()


async def load_dashboard(
    session: AsyncSession, chosen: ReportFilter, now: datetime | None = None
) -> dict[str, Any]:
    """The dashboard's figures for `chosen`, summed from the stored rollups."""
    await catch_up(session)
    model = await stored_model(session)
    sums = await stored_sums(session, chosen)
    data = dashboard(sums, await staff_names(session), period_days(chosen, now))
    return with_model(data, model)


async def dashboard_from_events(
    session: AsyncSession,
    chosen: ReportFilter,
    model: SatisfactionModel,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The same figures folded in memory from the whole event log: the reference the stored
    rollups must equal."""
    facts = [f for f in facts_by_conversation(await read_events(session)) if chosen.admits(f.row)]
    sums = sums_in_memory(facts, lambda f: micro(model.predict(f.row).probability))
    data = dashboard(sums, await staff_names(session), period_days(chosen, now))
    return with_model(data, model)


def with_model(data: dict[str, Any], model: SatisfactionModel) -> dict[str, Any]:
    return {**data, "model": {"weights": model.weights, "learned_from": model.learned_from}}


def period_days(chosen: ReportFilter, now: datetime | None = None) -> int | None:
    """How many days the filter's period spans (None: all time); sets the trends' step."""
    if chosen.since is None:
        return None
    end = chosen.until or now or datetime.now(UTC)
    return max(1, -(-int((end - chosen.since).total_seconds()) // 86400))


async def staff_names(session: AsyncSession) -> dict[int, str]:
    return {u.id: u.display_name for u in await session.scalars(select(User))}


async def load_conversations(
    session: AsyncSession, chosen: ReportFilter, limit: int | None = DRILL_DOWN_LIMIT
) -> tuple[list[dict[str, Any]], int]:
    """The conversations behind the figures (the first `limit`, by id) and how many there are."""
    await catch_up(session)
    model = await stored_model(session)
    names = await staff_names(session)
    query = conversations_query(chosen)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    found = await session.scalars(query if limit is None else query.limit(limit))
    return [conversation_item(r, model, names) for r in found], int(total or 0)


def conversation_item(
    r: ReportConversation, model: SatisfactionModel, names: dict[int, str]
) -> dict[str, Any]:
    reasons = model.predict(to_row(r)).reasons
    return {
        "id": r.conversation_id,
        "started_at": iso(r.started_at),
        "channel": r.channel,
        "intent": r.intent,
        "ticket_id": r.ticket_id,
        "queue": r.queue,
        "agent": names.get(r.agent_id) if r.agent_id is not None else None,
        "handed_off": bool(r.handed_off),
        "resolved": bool(r.resolved),
        "first_response_s": r.first_response_s,
        "resolution_s": r.resolution_s,
        "rating": r.rating,
        "predicted": r.predicted_micro / 10_000,
        "reasons": ", ".join(f"{name} {weight:+.2f}" for name, weight in reasons[:3]),
    }


async def csv_chunks(session: AsyncSession, chosen: ReportFilter) -> AsyncIterator[str]:
    """The CSV export, one row per conversation with every metric, its rating and predicted
    satisfaction, intent, queue and agent, in pieces of CSV_BATCH rows read as they are sent."""
    await catch_up(session)
    names = await staff_names(session)
    yield _csv_text([CSV_COLUMNS])
    query = conversations_query(chosen).execution_options(yield_per=CSV_BATCH)
    async for part in (await session.stream_scalars(query)).partitions():
        yield _csv_text(csv_row(r, names) for r in part)


def csv_row(r: ReportConversation, names: dict[int, str]) -> list[object]:
    return [
        r.conversation_id,
        iso(r.started_at),
        r.channel or "",
        r.intent or "",
        r.ticket_id or "",
        r.queue or "",
        names.get(r.agent_id, "") if r.agent_id is not None else "",
        r.handed_off,
        r.resolved,
        _blank(r.first_response_s),
        _blank(r.resolution_s),
        _blank(r.rating),
        r.predicted_micro / 1_000_000,
    ]


def _csv_text(rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def _blank(value: float | int | None) -> str:
    return "" if value is None else str(value)


def charts(data: dict[str, Any]) -> dict[str, str]:
    """The page's and the HTML report's inline SVG charts, trends included."""
    trend = data["trends"]
    labels = trend["labels"]
    return {
        "csat_by_agent": bar_chart(
            "CSAT by agent", [(r["name"], r["csat"]) for r in data["agents"]], "%", maximum=100
        ),
        "tickets_by_queue": bar_chart(
            "Tickets handled by queue", [(r["name"], r["tickets_handled"]) for r in data["queues"]]
        ),
        "trend_satisfaction": line_chart(
            f"CSAT and predicted satisfaction per {trend['step']}",
            labels,
            {"CSAT": trend["csat"], "Predicted": trend["predicted"]},
            "%",
            maximum=100,
        ),
        "trend_service": line_chart(
            f"SLA met and containment per {trend['step']}",
            labels,
            {"SLA met": trend["sla_met"], "Containment": trend["containment"]},
            "%",
            maximum=100,
        ),
        "trend_intents": line_chart(
            f"Conversations by intent per {trend['step']}", labels, trend["volume_by_intent"]
        ),
        "trend_channels": line_chart(
            f"Conversations by channel per {trend['step']}", labels, trend["volume_by_channel"]
        ),
    }


async def conversation_detail(session: AsyncSession, conversation_id: int) -> dict[str, Any]:
    """One conversation's metrics, its predicted satisfaction with the reasons, and its
    transcript (internal notes included: only supervisors see this page)."""
    conversation = await get_conversation(session, conversation_id)
    events = await read_events(session, Event.conversation_id == conversation.id)
    if not events:
        raise NotFound(f"conversation {conversation.id} has nothing recorded yet")
    facts = conversation_facts(events)
    names = {u.id: u.display_name for u in await session.scalars(select(User))}
    await catch_up(session)
    model = await stored_model(session)
    prediction = model.predict(facts.row)
    csat = await session.scalar(
        select(CsatResponse).where(CsatResponse.conversation_id == conversation.id)
    )
    row, measures = facts.row, facts.measures
    return {
        "id": conversation.id,
        "status": conversation.status,
        "customer": conversation.customer.display_name,
        "row": row,
        "agent": names.get(row.agent_id) if row.agent_id is not None else None,
        "handoffs": measures["handoffs"],
        "transfers": measures["transfers"],
        "reopens": measures["reopens"],
        "sla_breached": measures["sla_total"] > measures["sla_met"],
        "waits": [
            {"since": iso(w.since), "seconds": w.seconds, "agent": names.get(w.agent_id)}
            for w in facts.waits
        ],
        "comment": csat.comment if csat is not None else None,
        "predicted": prediction.probability * 100,
        "expected_rating": prediction.rating,
        "baseline": model.weights["intercept"],
        "model": "learned" if model.learned_from else "prior",
        "reasons": explain(model, row),
        "messages": [
            {
                "sender": m.sender,
                "name": m.sender_user.display_name if m.sender_user else None,
                "text": m.text,
                "at": iso(m.created_at),
            }
            for m in await transcript(session, conversation.id, with_notes=True)
        ],
    }
