"""Supervisor quality reports, computed from the event log."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.web import keys
from bot.web.auth import REPORT_ROLES
from bot.web.charts import bar_chart
from bot.web.render import render
from bot.web.staff import staff
from scoring import EventRecord, QualityRow, quality_report
from storage.models import Event, User

routes = web.RouteTableDef()


@routes.get("/reports")
async def reports_page(request: web.Request) -> web.Response:
    async with request.app[keys.COMPONENTS].db.session() as session:
        await staff(session, request, REPORT_ROLES)
        events = [_record(e) for e in await session.scalars(select(Event).order_by(Event.id))]
        names = {u.id: u.display_name for u in await session.scalars(select(User))}
    report = quality_report(events)
    agents = [
        _row(names.get(agent_id, f"#{agent_id}"), row) for agent_id, row in report.by_agent.items()
    ]
    queues = [_row(name, row) for name, row in sorted(report.by_queue.items())]
    agents.sort(key=lambda r: r["name"])
    context = {
        "summary": _row("All", report.summary),
        "agents": agents,
        "queues": queues,
        "charts": {
            "csat_by_agent": bar_chart(
                "CSAT by agent", [(r["name"], r["csat"]) for r in agents], "%", maximum=100
            ),
            "tickets_by_queue": bar_chart(
                "Tickets handled by queue", [(r["name"], r["tickets_handled"]) for r in queues]
            ),
        },
    }
    return render(request, "reports.html", context)


def _record(event: Event) -> EventRecord:
    return EventRecord(
        type=event.type,
        created_at=event.created_at,
        ticket_id=event.ticket_id,
        agent_id=event.agent_id,
        queue=event.queue,
        payload=event.payload or {},
    )


def _row(name: str, row: QualityRow) -> dict[str, Any]:
    return {
        "name": name,
        "tickets_handled": row.tickets_handled,
        "ratings": row.ratings,
        "csat": row.csat,
        "first_response_avg_s": row.first_response_avg_s,
        "resolution_avg_s": row.resolution_avg_s,
    }
