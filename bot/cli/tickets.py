"""`helpline tickets ...`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer
from rich.console import Console
from sqlalchemy import select

from bot.cli import common
from bot.settings import Settings
from storage import migrate
from storage.models import Ticket

app = typer.Typer(help="Tickets.", no_args_is_help=True)


@app.command("list")
def tickets_list(
    config: common.ConfigOption = common.DEFAULT_CONFIG, as_json: common.JsonOption = False
) -> None:
    """The tickets, newest first."""
    settings = common.load(config)
    migrate.upgrade(settings.database_url)
    tickets = asyncio.run(_tickets(settings))
    if as_json:
        print(json.dumps({"tickets": tickets}))
        return
    from rich.table import Table  # noqa: PLC0415

    table = Table("id", "status", "priority", "queue", "assignee", "first response due", "subject")
    for t in tickets:
        assignee = t["assignee"]["username"] if t["assignee"] else "-"
        due = t["sla"]["first_response_due_at"] or "-"
        row = (str(t["id"]), t["status"], t["priority"], t["queue"], assignee, due, t["subject"])
        table.add_row(*row)
    Console().print(table)


async def _tickets(settings: Settings) -> list[dict[str, Any]]:
    from bot.views import ticket_json  # noqa: PLC0415

    async with common.database(settings) as db, db.session() as session:
        rows = await session.scalars(select(Ticket).order_by(Ticket.id.desc()))
        return [ticket_json(t) for t in rows]
