"""`helpline demo prepare`: everything `make run` needs before serving."""

from __future__ import annotations

import asyncio
import secrets

import typer
from sqlalchemy import select

from actions.articles import ImportSummary
from actions.canned import CannedInput, add_missing_canned
from bot.cli import common
from bot.cli.nlu import train_if_needed
from bot.cli.users import create_user_in
from bot.components import import_kb_sources
from bot.settings import Settings
from storage import migrate
from storage.models import User

app = typer.Typer(help="The demo bot.", no_args_is_help=True)


@app.command("prepare")
def demo_prepare(config: common.ConfigOption = common.DEFAULT_CONFIG) -> None:
    """Train if needed, migrate, import the demo articles, create the queues and the demo users
    (log-ins printed once)."""
    settings = common.load(config)
    train_if_needed(settings, force=False)
    migrate.upgrade(settings.database_url)
    imported = asyncio.run(_demo_articles(settings))
    for error in imported.errors:
        common.console.print(f"[yellow]skipped[/yellow] {error}", highlight=False)
    common.console.print(
        f"knowledge base: {len(imported.created)} articles imported, "
        f"{len(imported.updated)} updated, {len(imported.unchanged)} unchanged"
    )
    created = asyncio.run(_demo_users(settings))
    asyncio.run(_demo_canned(settings))
    if not created:
        common.console.print("demo users exist already (their passwords were printed when created)")
        return
    common.console.print("\n[bold]Demo log-ins[/bold] (shown once; keep them):")
    for username, role, password in created:
        common.console.print(f"  {role:<11} {username:<8} password: {password}", highlight=False)
    common.console.print(
        "  console: http://127.0.0.1:8080/console   reports: http://127.0.0.1:8080/reports\n"
    )


async def _demo_articles(settings: Settings) -> ImportSummary:
    async with common.database(settings) as db:
        return await import_kb_sources(settings, db)


async def _demo_canned(settings: Settings) -> None:
    items = [CannedInput(c.shortcut, c.title, c.text) for c in settings.demo.canned_responses]
    async with common.database(settings) as db, db.session() as session, session.begin():
        await add_missing_canned(session, items)


async def _demo_users(settings: Settings) -> list[tuple[str, str, str]]:
    async with common.database(settings) as db, db.session() as session:
        existing = set(await session.scalars(select(User.username)))
    created: list[tuple[str, str, str]] = []
    for user in settings.demo.users:
        if user.username in existing:
            continue
        password = secrets.token_urlsafe(9)
        await create_user_in(
            settings, user.username, user.display_name, user.role, password, list(user.queues)
        )
        created.append((user.username, user.role, password))
    return created
