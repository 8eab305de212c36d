"""What every command shares: options, reading settings, progress bars, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.components import settings_from_environment
from bot.settings import ConfigError, Settings
from storage.database import Database

console = Console(stderr=True)
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The operator's config.yml.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
DEFAULT_CONFIG = Path("config.yml")


def load(config: Path) -> Settings:
    try:
        return settings_from_environment(config)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]", markup=True, highlight=False)
        raise typer.Exit(2) from exc


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The settings' database for one command; its connections are closed when it ends."""
    db = Database(settings.database_url)
    try:
        yield db
    finally:
        await db.dispose()


@contextmanager
def progress_bar(label: str) -> Iterator[Any]:
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def fail(message: str, code: int = 1) -> typer.Exit:
    # soft_wrap: one line per error however long its path, for scripts and logs that read it
    # (Rich otherwise breaks lines at 80 columns when the output is not a terminal)
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
