"""`helpline users ...`: agents, supervisors and admins."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from actions.errors import HelplineError
from bot.cli import common
from bot.settings import Settings
from storage import migrate
from storage.database import Database

app = typer.Typer(help="Agents, supervisors and admins.", no_args_is_help=True)


@app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="agent, supervisor or admin")] = "agent",
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    queue: Annotated[
        list[str] | None, typer.Option(help="A queue the user works in (repeat).")
    ] = None,
    password: Annotated[str | None, typer.Option(help="Prompted for when not given.")] = None,
    config: common.ConfigOption = common.DEFAULT_CONFIG,
) -> None:
    """Create a user who can log in to the console."""
    settings = common.load(config)
    secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    migrate.upgrade(settings.database_url)
    try:
        asyncio.run(create_user_in(settings, username, name or username, role, secret, queue or []))
    except HelplineError as exc:
        raise common.fail(exc.message) from exc
    common.console.print(f"created {role} {username}")


async def create_user_in(
    settings: Settings, username: str, name: str, role: str, password: str, queues: list[str]
) -> None:
    from actions.users import create_user  # noqa: PLC0415

    async with common.database(settings) as db:
        await sync_config_queues(db, settings)
        async with db.session() as session, session.begin():
            await create_user(
                session, username, name, role, password, queues, settings.routing.default_capacity
            )


async def sync_config_queues(db: Database, settings: Settings) -> None:
    from actions.users import sync_queues  # noqa: PLC0415

    async with db.session() as session, session.begin():
        await sync_queues(session, settings.queue_specs())
