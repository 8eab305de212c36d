"""`helpline actions serve`: helpline's actions for a Rasa server, over Rasa's action protocol."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from rich.markup import escape

from bot.cli import common
from bot.cli.users import sync_config_queues
from bot.settings import Settings
from storage import migrate

app = typer.Typer(help="helpline's actions for a Rasa server (needs the `rasa` extra).")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (Rasa's default is 5055).")] = 5055,
    config: common.ConfigOption = common.DEFAULT_CONFIG,
) -> None:
    """Serve POST /webhook (Rasa's action_endpoint), GET /actions and GET /health, on the
    database of DATABASE_URL or config.yml (migrated, with config.yml's queues)."""
    settings = common.load(config)
    migrate.upgrade(settings.database_url)
    asyncio.run(_sync_queues(settings))
    try:
        from bot.rasa import server  # noqa: PLC0415 (rasa-sdk is an optional extra)

        app = server.action_endpoint(settings)
    except ImportError as exc:
        raise common.fail(escape(str(exc))) from exc  # [rasa] is not rich markup
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    common.console.print(f"helpline actions on http://{host}:{port}/webhook")
    server.run(app, host, port)


async def _sync_queues(settings: Settings) -> None:
    """The queues of config.yml exist before the first ticket is routed to one of them."""
    async with common.database(settings) as db:
        await sync_config_queues(db, settings)
