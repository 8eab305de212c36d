"""`helpline report`: the quality report as a self-contained HTML page, CSV or JSON."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
import typer

from actions.errors import InvalidInput
from bot.cli import common
from bot.report_store import mark_all_dirty, refresh
from bot.reporting import (
    charts,
    csv_chunks,
    load_dashboard,
    parse_period,
)
from bot.settings import Settings
from bot.web.format import duration, percent
from scoring import ReportFilter
from storage import migrate

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def report(
    since: Annotated[str, typer.Option(help="Period covered: 7d, 12h or all.")] = "7d",
    output_format: Annotated[
        Literal["html", "csv", "json"], typer.Option("--format", help="html, csv or json.")
    ] = "html",
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output).")
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild", help="Fold every conversation's events again first (after an upgrade)."
        ),
    ] = False,
    config: common.ConfigOption = common.DEFAULT_CONFIG,
) -> None:
    """Write the quality report: a self-contained HTML page with charts, a CSV with one row per
    conversation, or JSON. Conversations changed since the last refresh are folded first."""
    settings = common.load(config)
    try:
        chosen = ReportFilter(since=parse_period(since))
    except InvalidInput as exc:
        raise common.fail(exc.message, 2) from exc
    text = write_report(settings, chosen, output_format, since, rebuild=rebuild)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        common.console.print(f"wrote {output_format} report to {out}")


def write_report(
    settings: Settings, chosen: ReportFilter, output_format: str, since: str, *, rebuild: bool
) -> str:
    """The command's work once its options are read: migrate, refresh, read, render."""
    migrate.upgrade(settings.database_url)
    return asyncio.run(_render(settings, chosen, output_format, since, rebuild=rebuild))


async def _render(
    settings: Settings, chosen: ReportFilter, output_format: str, since: str, *, rebuild: bool
) -> str:
    async with common.database(settings) as db, db.session() as session:
        async with session.begin():
            if rebuild:
                await mark_all_dirty(session)
            await refresh(session)
        if output_format == "csv":
            return "".join([chunk async for chunk in csv_chunks(session, chosen)])
        data = await load_dashboard(session, chosen)
    if output_format == "json":
        return json.dumps({"since": since, **data}, default=str) + "\n"
    return _html(data, since)


def _html(data: dict[str, Any], since: str) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"])
    )
    env.filters["duration"] = duration
    env.filters["percent"] = percent
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    context = {**data, "charts": charts(data), "since": since, "generated": generated}
    return env.get_template("report_standalone.html").render(context)
