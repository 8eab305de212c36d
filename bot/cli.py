"""The `helpline` command line: serve, train, knowledge base, users, tickets, NLU tools."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from actions.errors import HelplineError
from bot.components import build_kb, nlu_config, settings_from_environment
from bot.settings import ConfigError, Settings
from storage import migrate
from storage.database import Database
from storage.models import Ticket, User

app = typer.Typer(help="helpline: customer-service automation.", no_args_is_help=True)
kb_app = typer.Typer(help="The knowledge base.", no_args_is_help=True)
users_app = typer.Typer(help="Agents, supervisors and admins.", no_args_is_help=True)
tickets_app = typer.Typer(help="Tickets.", no_args_is_help=True)
nlu_app = typer.Typer(help="The NLU pipeline.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo bot.", no_args_is_help=True)
for name, sub in (
    ("kb", kb_app),
    ("users", users_app),
    ("tickets", tickets_app),
    ("nlu", nlu_app),
    ("db", db_app),
    ("demo", demo_app),
):
    app.add_typer(sub, name=name)

console = Console(stderr=True)
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The operator's config.yml.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
DEFAULT_CONFIG = Path("config.yml")


def _settings(config: Path) -> Settings:
    try:
        return settings_from_environment(config)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]", markup=True, highlight=False)
        raise typer.Exit(2) from exc


@contextmanager
def _progress(label: str) -> Iterator[Any]:
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Serve the widget, the REST channel, the console and the reports."""
    from aiohttp import web  # noqa: PLC0415 (keeps the other commands quick to start)

    from bot.components import build_components  # noqa: PLC0415
    from bot.web.app import create_app  # noqa: PLC0415

    settings = _settings(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    migrate.upgrade(settings.database_url)
    try:
        components = build_components(settings)
    except (FileNotFoundError, RuntimeError) as exc:
        raise _fail(str(exc)) from exc
    asyncio.run(_sync_queues(components.db, settings))
    console.print(f"helpline serving on http://{host}:{port}")
    web.run_app(create_app(components), host=host, port=port, print=None)


@app.command()
def train(
    config: ConfigOption = DEFAULT_CONFIG,
    force: Annotated[bool, typer.Option(help="Train even if the model is up to date.")] = False,
) -> None:
    """Train the NLU model from the training data named in config.yml."""
    settings = _settings(config)
    _train(settings, force)


def _train(settings: Settings, force: bool) -> None:
    from nlu.encoder import load_encoder  # noqa: PLC0415
    from nlu.model import NLUModel, data_fingerprint, read_metadata  # noqa: PLC0415
    from nlu.training_data import TrainingDataError, read_training_data  # noqa: PLC0415

    path = settings.resolve(settings.nlu.training_data)
    model_dir = settings.resolve(settings.nlu.model_dir)
    try:
        data = read_training_data(path)
    except TrainingDataError as exc:
        raise _fail(str(exc)) from exc
    config = nlu_config(settings)
    if not force and _up_to_date(
        model_dir, config.fingerprint(), data_fingerprint(data), read_metadata
    ):
        console.print(f"NLU model in {model_dir} is up to date")
        return
    encoder = load_encoder(settings.nlu.encoder)
    with _progress("Training NLU") as progress:
        model = NLUModel.train(data, config, encoder, progress)
    model.save(model_dir, data)
    console.print(
        f"trained {len(model.intents)} intents on {len(data.examples)} examples -> {model_dir}"
    )


def _up_to_date(model_dir: Path, config_print: str, data_print: str, read: Any) -> bool:
    try:
        meta = read(model_dir)
    except FileNotFoundError:
        return False
    return bool(
        meta.get("config_fingerprint") == config_print
        and meta.get("data_fingerprint") == data_print
    )


@kb_app.command("index")
def kb_index(config: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """Chunk and embed the knowledge base's articles; report broken files."""
    from nlu.encoder import load_encoder  # noqa: PLC0415

    settings = _settings(config)
    encoder = load_encoder(settings.nlu.encoder)
    with _progress("Indexing articles") as progress:
        index, errors = build_kb(settings, encoder, progress)
    summary = {"articles": len(index.articles), "chunks": len(index.chunks), "errors": errors}
    if as_json:
        print(json.dumps(summary))
        return
    for error in errors:
        console.print(f"[yellow]skipped[/yellow] {error}", highlight=False)
    console.print(f"indexed {summary['articles']} articles in {summary['chunks']} passages")


@db_app.command("migrate")
def db_migrate(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Bring the database schema up to date."""
    settings = _settings(config)
    migrate.upgrade(settings.database_url)
    console.print("database is up to date")


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="agent, supervisor or admin")] = "agent",
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    queue: Annotated[
        list[str] | None, typer.Option(help="A queue the user works in (repeat).")
    ] = None,
    password: Annotated[str | None, typer.Option(help="Prompted for when not given.")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Create a user who can log in to the console."""
    settings = _settings(config)
    secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    migrate.upgrade(settings.database_url)
    try:
        asyncio.run(_create_user(settings, username, name or username, role, secret, queue or []))
    except HelplineError as exc:
        raise _fail(exc.message) from exc
    console.print(f"created {role} {username}")


async def _create_user(
    settings: Settings, username: str, name: str, role: str, password: str, queues: list[str]
) -> None:
    from actions.users import create_user  # noqa: PLC0415

    db = Database(settings.database_url)
    try:
        await _sync_queues(db, settings)
        async with db.session() as session, session.begin():
            await create_user(
                session, username, name, role, password, queues, settings.routing.default_capacity
            )
    finally:
        await db.dispose()


async def _sync_queues(db: Database, settings: Settings) -> None:
    from actions.users import sync_queues  # noqa: PLC0415

    async with db.session() as session, session.begin():
        await sync_queues(session, [(q.name, q.skills) for q in settings.queues])


@tickets_app.command("list")
def tickets_list(config: ConfigOption = DEFAULT_CONFIG, as_json: JsonOption = False) -> None:
    """The tickets, newest first."""
    settings = _settings(config)
    migrate.upgrade(settings.database_url)
    tickets = asyncio.run(_tickets(settings))
    if as_json:
        print(json.dumps({"tickets": tickets}))
        return
    from rich.table import Table  # noqa: PLC0415

    table = Table("id", "status", "queue", "assignee", "subject")
    for t in tickets:
        assignee = t["assignee"]["username"] if t["assignee"] else "-"
        table.add_row(str(t["id"]), t["status"], t["queue"], assignee, t["subject"])
    Console().print(table)


async def _tickets(settings: Settings) -> list[dict[str, Any]]:
    from bot.views import ticket_json  # noqa: PLC0415

    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            rows = await session.scalars(select(Ticket).order_by(Ticket.id.desc()))
            return [ticket_json(t) for t in rows]
    finally:
        await db.dispose()


@nlu_app.command("parse")
def nlu_parse(text: str, config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Parse one message; prints Rasa's /model/parse JSON plus sentiment and language."""
    from nlu.encoder import load_encoder  # noqa: PLC0415
    from nlu.model import ModelMismatchError, NLUModel  # noqa: PLC0415

    settings = _settings(config)
    try:
        model = NLUModel.load(
            settings.resolve(settings.nlu.model_dir),
            nlu_config(settings),
            load_encoder(settings.nlu.encoder),
        )
    except (FileNotFoundError, ModelMismatchError) as exc:
        raise _fail(str(exc)) from exc
    print(json.dumps(model.parse(text).as_rasa(), ensure_ascii=False))


@nlu_app.command("evaluate")
def nlu_evaluate(
    train_file: Annotated[
        Path | None, typer.Option("--train", help="Training data (YAML or CSV).")
    ] = None,
    test_file: Annotated[
        Path | None,
        typer.Option("--test", help="Test data; without it a held-out part of --train."),
    ] = None,
    holdout: Annotated[
        float, typer.Option(help="Share of --train held out when --test is not given.")
    ] = 0.2,
    oos_label: Annotated[
        str | None, typer.Option("--oos-label", help="Label of out-of-scope examples.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Confidence threshold (default: config.yml).")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Train on one file and evaluate on another (or on a held-out part of the first)."""
    from dataclasses import replace  # noqa: PLC0415

    from nlu.encoder import load_encoder  # noqa: PLC0415
    from nlu.evaluate import evaluate, split_holdout  # noqa: PLC0415
    from nlu.training_data import TrainingDataError, read_training_data  # noqa: PLC0415

    settings = _settings(config)
    try:
        train_data = read_training_data(train_file or settings.resolve(settings.nlu.training_data))
        if test_file is not None:
            test_data = read_training_data(test_file)
        else:
            train_data, test_data = split_holdout(train_data, holdout)
    except TrainingDataError as exc:
        raise _fail(str(exc)) from exc
    nlu_settings = nlu_config(settings)
    if threshold is not None:
        nlu_settings = replace(nlu_settings, confidence_threshold=threshold)
    with _progress("Training") as progress:
        result = evaluate(
            train_data,
            test_data,
            nlu_settings,
            load_encoder(settings.nlu.encoder),
            oos_label,
            progress,
        )
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        console.print(f"{key:>20}: {value}")


@demo_app.command("prepare")
def demo_prepare(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Train if needed, migrate, create the queues and the demo users (log-ins printed once)."""
    settings = _settings(config)
    _train(settings, force=False)
    migrate.upgrade(settings.database_url)
    created = asyncio.run(_demo_users(settings))
    if not created:
        console.print("demo users exist already (their passwords were printed when created)")
        return
    console.print("\n[bold]Demo log-ins[/bold] (shown once; keep them):")
    for username, role, password in created:
        console.print(f"  {role:<11} {username:<8} password: {password}", highlight=False)
    console.print(
        "  console: http://127.0.0.1:8080/console   reports: http://127.0.0.1:8080/reports\n"
    )


async def _demo_users(settings: Settings) -> list[tuple[str, str, str]]:
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            existing = set(await session.scalars(select(User.username)))
    finally:
        await db.dispose()
    created: list[tuple[str, str, str]] = []
    for user in settings.demo.users:
        if user.username in existing:
            continue
        password = secrets.token_urlsafe(9)
        await _create_user(
            settings, user.username, user.display_name, user.role, password, list(user.queues)
        )
        created.append((user.username, user.role, password))
    return created


def main() -> None:  # pragma: no cover - the console script calls `app`
    app(prog_name="helpline")
    sys.exit(0)
