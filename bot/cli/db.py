"""`helpline db ...`: the database schema."""

from __future__ import annotations

import typer

from bot.cli import common
from storage import migrate

app = typer.Typer(help="The database.", no_args_is_help=True)


@app.command("migrate")
def db_migrate(config: common.ConfigOption = common.DEFAULT_CONFIG) -> None:
    """Bring the database schema up to date."""
    settings = common.load(config)
    migrate.upgrade(settings.database_url)
    common.console.print("database is up to date")
