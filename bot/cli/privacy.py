"""`helpline privacy ...`: answer a customer's access request (export) or erasure request."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from actions.errors import HelplineError
from actions.privacy import Erasure, erase_customer, export_customer, find_customer
from actions.record import SYSTEM
from bot.cli import common
from bot.settings import Settings
from storage import migrate
from storage.files import FileStore

app = typer.Typer(help="Customers' personal data: export and erase.", no_args_is_help=True)
CustomerArgument = Annotated[
    str, typer.Argument(help="The customer's id, or channel:external_id (e.g. telegram:4242).")
]


@app.command("export")
def privacy_export(
    customer: CustomerArgument,
    out: Annotated[Path | None, typer.Option(help="Write the JSON here, not to stdout.")] = None,
    config: common.ConfigOption = common.DEFAULT_CONFIG,
) -> None:
    """Everything stored about a customer, as one JSON document."""
    settings = common.load(config)
    migrate.upgrade(settings.database_url)
    try:
        document = asyncio.run(_export(settings, customer))
    except HelplineError as exc:
        raise common.fail(exc.message) from exc
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        common.console.print(f"wrote {out}")


@app.command("erase")
def privacy_erase(
    customer: CustomerArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    config: common.ConfigOption = common.DEFAULT_CONFIG,
) -> None:
    """Erase a customer's personal data; the anonymised numbers stay for the reports."""
    settings = common.load(config)
    migrate.upgrade(settings.database_url)
    try:
        name = asyncio.run(_describe(settings, customer))
        if not yes and not typer.confirm(f"Erase the personal data of {name}?"):
            raise common.fail("nothing erased", code=1)
        erasure = asyncio.run(_erase(settings, customer))
    except HelplineError as exc:
        raise common.fail(exc.message) from exc
    if erasure.already:
        common.console.print(f"customer {erasure.customer_id} was already erased; nothing to do")
        return
    counts = ", ".join(f"{v} {k}" for k, v in erasure.counts().items())
    common.console.print(f"erased customer {erasure.customer_id}: {counts}", soft_wrap=True)


async def _export(settings: Settings, reference: str) -> dict[str, Any]:
    async with common.database(settings) as db, db.session() as session:
        return await export_customer(session, await find_customer(session, reference))


async def _describe(settings: Settings, reference: str) -> str:
    async with common.database(settings) as db, db.session() as session:
        customer = await find_customer(session, reference)
        return f"customer {customer.id} ({customer.display_name})"


async def _erase(settings: Settings, reference: str) -> Erasure:
    async with common.database(settings) as db, db.session() as session, session.begin():
        erasure = await erase_customer(session, await find_customer(session, reference), SYSTEM)
    store = FileStore(settings.resolve(settings.attachments.directory))
    for key in erasure.files:  # after the commit: a rolled-back erasure keeps its files
        store.path(key).unlink(missing_ok=True)
    return erasure
