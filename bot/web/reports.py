"""Supervisor quality reports: the dashboard, the conversations behind each number, CSV export."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.reporting import (
    charts,
    conversation_csv,
    conversation_detail,
    load_dashboard,
    load_report,
    report_filter,
    staff_names,
)
from bot.views import iso
from bot.web import keys
from bot.web.auth import REPORT_ROLES
from bot.web.inputs import path_id
from bot.web.render import render
from bot.web.staff import staff

routes = web.RouteTableDef()
FILTER_KEYS = ("period", "queue", "agent", "channel", "intent")
PERIODS = (
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("all", "All time"),
)


@routes.get("/reports")
async def reports_page(request: web.Request) -> web.Response:
    async with request.app[keys.COMPONENTS].db.session() as session:
        await staff(session, request, REPORT_ROLES)
        data = await load_dashboard(session, report_filter(dict(request.query)))
        names = await staff_names(session)
    context = {**data, "charts": charts(data), **_filter_context(request, names)}
    return render(request, "reports.html", context)


@routes.get("/reports/conversations")
async def report_conversations(request: web.Request) -> web.Response:
    """The conversations behind the numbers shown for the same filters."""
    async with request.app[keys.COMPONENTS].db.session() as session:
        await staff(session, request, REPORT_ROLES)
        report, names = await load_report(session, report_filter(dict(request.query)))
    rows = [
        {
            "id": r.conversation_id,
            "started_at": iso(r.started_at),
            "channel": r.channel,
            "intent": r.intent,
            "ticket_id": r.ticket_id,
            "queue": r.queue,
            "agent": names.get(r.agent_id) if r.agent_id is not None else None,
            "handed_off": r.handed_off,
            "resolved": r.resolved,
            "first_response_s": r.first_response_s,
            "resolution_s": r.resolution_s,
            "rating": r.rating,
            "predicted": report.predictions[r.conversation_id].probability * 100,
            "reasons": ", ".join(
                f"{name} {weight:+.2f}"
                for name, weight in report.predictions[r.conversation_id].reasons[:3]
            ),
        }
        for r in report.conversations
    ]
    return render(
        request, "report_conversations.html", {"rows": rows, **_filter_context(request, names)}
    )


@routes.get("/reports/conversations/{conversation_id}")
async def conversation_score(request: web.Request) -> web.Response:
    """One conversation's metrics, its predicted satisfaction with the reasons, the transcript."""
    async with request.app[keys.COMPONENTS].db.session() as session:
        await staff(session, request, REPORT_ROLES)
        detail = await conversation_detail(session, path_id(request, "conversation_id"))
    back = urlencode({k: v for k, v in request.query.items() if k in FILTER_KEYS and v})
    return render(request, "report_conversation.html", {**detail, "query_string": back})


@routes.get("/reports/export.csv")
async def export_csv(request: web.Request) -> web.Response:
    async with request.app[keys.COMPONENTS].db.session() as session:
        await staff(session, request, REPORT_ROLES)
        report, names = await load_report(session, report_filter(dict(request.query)))
    return web.Response(
        text=conversation_csv(report, names),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="helpline-conversations.csv"'},
    )


def _filter_context(request: web.Request, names: dict[int, str]) -> dict[str, object]:
    chosen = {k: v for k, v in request.query.items() if k in FILTER_KEYS and v}
    chosen.setdefault("period", "30d")
    return {
        "filters": chosen,
        "periods": PERIODS,
        "queue_names": sorted(q.name for q in request.app[keys.COMPONENTS].settings.queues),
        "agent_names": sorted(names.items(), key=lambda kv: kv[1]),
        "intent_names": sorted(request.app[keys.COMPONENTS].nlu.intents),
        "query_string": urlencode(chosen),
    }
