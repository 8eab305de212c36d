"""Reports read from the event log: loading, filtering from request or command-line input, and
the shapes the page, the CSV export and the JSON export share."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import get_conversation, transcript
from actions.errors import InvalidInput, NotFound
from bot.views import iso
from bot.web.charts import bar_chart
from scoring import EventRecord, Report, ReportFilter, build_report, conversation_rows
from scoring.dashboard import dashboard, sums_in_memory
from scoring.facts import conversation_facts, facts_by_conversation
from scoring.satisfaction import SatisfactionModel, explain, fit_model
from storage.models import CsatResponse, Event, User

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
    events = [_record(e) for e in await session.scalars(select(Event).order_by(Event.id))]
    names = {u.id: u.display_name for u in await session.scalars(select(User))}
    return build_report(events, chosen), names


async def load_dashboard(
    session: AsyncSession, chosen: ReportFilter, now: datetime | None = None
) -> dict[str, Any]:
    """The dashboard's figures for `chosen`, folded in memory from the event log."""
    events = [_record(e) for e in await session.scalars(select(Event).order_by(Event.id))]
    names = await staff_names(session)
    facts = facts_by_conversation(events)
    model = fit_model([f.row for f in facts])
    sums = sums_in_memory(
        (f for f in facts if chosen.admits(f.row)),
        lambda f: micro(model.predict(f.row).probability),
    )
    return with_model(dashboard(sums, names, period_days(chosen, now)), model)


def micro(probability: float) -> int:
    """A probability in millionths: predicted satisfaction sums exactly in any store."""
    return round(probability * 1_000_000)


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


def _record(event: Event) -> EventRecord:
    return EventRecord(
        type=event.type,
        created_at=event.created_at,
        ticket_id=event.ticket_id,
        agent_id=event.agent_id,
        queue=event.queue,
        payload=event.payload or {},
        conversation_id=event.conversation_id,
    )


def charts(data: dict[str, Any]) -> dict[str, str]:
    return {
        "csat_by_agent": bar_chart(
            "CSAT by agent", [(r["name"], r["csat"]) for r in data["agents"]], "%", maximum=100
        ),
        "tickets_by_queue": bar_chart(
            "Tickets handled by queue", [(r["name"], r["tickets_handled"]) for r in data["queues"]]
        ),
    }


def conversation_csv(report: Report, names: dict[int, str]) -> str:
    """One row per conversation with every metric, its rating and predicted satisfaction,
    intent, queue and agent."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in report.conversations:
        writer.writerow(
            [
                row.conversation_id,
                iso(row.started_at),
                row.channel or "",
                row.intent or "",
                row.ticket_id or "",
                row.queue or "",
                names.get(row.agent_id, "") if row.agent_id is not None else "",
                int(row.handed_off),
                int(row.resolved),
                _blank(row.first_response_s),
                _blank(row.resolution_s),
                _blank(row.rating),
                report.predictions[row.conversation_id].probability,
            ]
        )
    return out.getvalue()


def _blank(value: float | int | None) -> str:
    return "" if value is None else str(value)


async def current_model(session: AsyncSession) -> SatisfactionModel:
    """The satisfaction model the reports use now."""
    events = [_record(e) for e in await session.scalars(select(Event).order_by(Event.id))]
    return fit_model(conversation_rows(events))


async def conversation_detail(session: AsyncSession, conversation_id: int) -> dict[str, Any]:
    """One conversation's metrics, its predicted satisfaction with the reasons, and its
    transcript (internal notes included: only supervisors see this page)."""
    conversation = await get_conversation(session, conversation_id)
    events = [
        _record(e)
        for e in await session.scalars(
            select(Event).where(Event.conversation_id == conversation.id).order_by(Event.id)
        )
    ]
    if not events:
        raise NotFound(f"conversation {conversation.id} has nothing recorded yet")
    facts = conversation_facts(events)
    names = {u.id: u.display_name for u in await session.scalars(select(User))}
    model = await current_model(session)
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
