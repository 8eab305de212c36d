"""`helpline serve`: the web application."""

from __future__ import annotations

import asyncio
import gc
import logging
from enum import StrEnum
from typing import Annotated

import typer

from bot.cli import common
from bot.cli.users import sync_config_queues
from bot.logs import configure_logging
from bot.settings import ConfigError, Settings
from storage import migrate
from storage.database import Database

app = typer.Typer()


class LogFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    config: common.ConfigOption = common.DEFAULT_CONFIG,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            envvar="HELPLINE_LOG_FORMAT",
            help="text lines, or one JSON object per line (with request and conversation ids).",
        ),
    ] = LogFormat.text,
) -> None:
    """Serve the widget, the REST channel, the console and the reports."""
    import uvloop  # noqa: PLC0415 (as aiohttp below)
    from aiohttp import web  # noqa: PLC0415 (keeps the other commands quick to start)

    from bot.components import build_components  # noqa: PLC0415
    from bot.web.app import create_app  # noqa: PLC0415
    from bot.web.request_ids import AccessLogger  # noqa: PLC0415

    settings = common.load(config)
    configure_logging(log_format.value)
    migrate.upgrade(settings.database_url)
    try:
        components = build_components(settings)
    except (FileNotFoundError, RuntimeError, ConfigError) as exc:
        raise common.fail(str(exc)) from exc
    asyncio.run(_sync_queues(components.db, settings))
    if log_format is LogFormat.json:  # every line of the output is then one JSON object
        logging.getLogger("bot.serve").info("helpline serving on http://%s:%s", host, port)
    else:
        common.console.print(f"helpline serving on http://{host}:{port}")
    # What is loaded by now (models, spaCy, the knowledge base's index) lives as long as the
    # server: frozen, the garbage collector stops walking it. Under load a full collection
    # paused the server 150 to 190 ms; with it frozen, 5 to 15 ms.
    gc.freeze()
    # uvloop: the event loop's own work (sockets, callbacks) in C. Old and new servers taking
    # turns, the serving process used 5 to 6% less CPU a message (README "Load").
    web.run_app(
        create_app(components),
        host=host,
        port=port,
        print=None,
        access_log_class=AccessLogger,
        loop=uvloop.new_event_loop(),
    )


async def _sync_queues(db: Database, settings: Settings) -> None:
    """config.yml's queues into the database; then the pool is emptied, because its
    connections belong to this event loop and the server runs in another."""
    try:
        await sync_config_queues(db, settings)
    finally:
        await db.dispose()
