"""Supervisor quality reports: the dashboard, the conversations behind each number, CSV export."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.reporting import (
    charts,
    conversation_detail,
    csv_chunks,
    load_conversations,
    load_dashboard,
    report_filter,
    staff_names,
)
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
        rows, total = await load_conversations(session, report_filter(dict(request.query)))
        names = await staff_names(session)
    context = {"rows": rows, "total": total, **_filter_context(request, names)}
    return render(request, "report_conversations.html", context)


@routes.get("/reports/conversations/{conversation_id}")
async def conversation_score(request: web.Request) -> web.Response:
    """One conversation's metrics, its predicted satisfaction with the reasons, the transcript."""
    async with request.app[keys.COMPONENTS].db.session() as session:
        await staff(session, request, REPORT_ROLES)
        detail = await conversation_detail(session, path_id(request, "conversation_id"))
    back = urlencode({k: v for k, v in request.query.items() if k in FILTER_KEYS and v})
    return render(request, "report_conversation.html", {**detail, "query_string": back})


@routes.get("/reports/export.csv")
async def export_csv(request: web.Request) -> web.StreamResponse:
    """Every conversation for the filters, streamed as it is read."""
    async with request.app[keys.COMPONENTS].db.session() as session:
        await staff(session, request, REPORT_ROLES)
        chosen = report_filter(dict(request.query))
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="helpline-conversations.csv"',
            }
        )
        await response.prepare(request)
        async for chunk in csv_chunks(session, chosen):
            await response.write(chunk.encode("utf-8"))
        await response.write_eof()
    return response


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
