"""Shared fixtures: the encoder and the demo NLU model (trained once), databases on SQLite and
on a real PostgreSQL server, and fully wired components for application tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.components import (
    Components,
    build_kb,
    encoder_tuner,
    nlu_config,
    settings_encoder,
    wire,
)
from bot.settings import Settings, load_settings
from knowledge_base.index import KnowledgeBaseIndex
from nlu.encoder import Encoder
from nlu.model import NLUModel
from nlu.training_data import read_training_data
from storage import migrate
from storage.database import Database
from tests.servers import HelplineServer, PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return load_settings(ROOT / "config.yml")


@pytest.fixture(scope="session")
def encoder(base_settings: Settings) -> Encoder:
    return settings_encoder(base_settings)


@pytest.fixture(scope="session")
def demo_model_dir(
    base_settings: Settings, encoder: Encoder, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The demo bot's NLU model, trained once for the whole run into a temporary folder."""
    directory = tmp_path_factory.mktemp("nlu-model")
    data = read_training_data(base_settings.resolve(base_settings.nlu.training_data))
    config, tuner = nlu_config(base_settings), encoder_tuner(base_settings)
    NLUModel.train(data, config, encoder, tuner=tuner).save(directory, data)
    return directory


@pytest.fixture(scope="session")
def demo_nlu(base_settings: Settings, encoder: Encoder, demo_model_dir: Path) -> NLUModel:
    config, tuner = nlu_config(base_settings), encoder_tuner(base_settings)
    return NLUModel.load(demo_model_dir, config, encoder, tuner)


@pytest.fixture(scope="session")
def demo_kb(base_settings: Settings, encoder: Encoder) -> KnowledgeBaseIndex:
    index, errors = build_kb(base_settings, encoder, use_cache=False)
    assert errors == []
    return index


@pytest.fixture(scope="session")
def served_kb(base_settings: Settings, demo_nlu: NLUModel) -> KnowledgeBaseIndex:
    """The demo articles as `helpline serve` indexes them: with the NLU's intent encoder."""
    index, errors = build_kb(base_settings, demo_nlu.intent_encoder, use_cache=False)
    assert errors == []
    return index


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the run (no persistence); tests flush what they need empty."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()


async def _fresh_postgres_url(server: PostgresServer) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return server.url(name)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, which it may stop and start again (an outage)."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def postgres_url(postgres: PostgresServer) -> str:
    """A freshly migrated PostgreSQL database, for behaviour only PostgreSQL has."""
    url = await _fresh_postgres_url(postgres)
    await migrate.upgrade_async(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A freshly migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'helpline.db'}"
    else:
        url = await _fresh_postgres_url(request.getfixturevalue("postgres"))
    await migrate.upgrade_async(url)
    yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A `Database` on `database_url` (SQLite, then PostgreSQL), disposed after the test."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'helpline.db'}"
    await migrate.upgrade_async(url)
    return url


def settings_for(base: Settings, database_url: str, model_dir: Path) -> Settings:
    nlu = base.nlu.model_copy(update={"model_dir": model_dir})
    return base.model_copy(update={"database_url": database_url, "nlu": nlu})


def with_attachments_in(
    settings: Settings, directory: Path, max_bytes: int | None = None
) -> Settings:
    limits = {"directory": directory, "max_bytes": max_bytes or settings.attachments.max_bytes}
    return settings.model_copy(
        update={"attachments": settings.attachments.model_copy(update=limits)}
    )


@pytest.fixture
def app_database_url(sqlite_url: str) -> str:
    """The database `components` use: a fresh SQLite one (a test module may override it)."""
    return sqlite_url


@pytest.fixture
async def components(
    base_settings: Settings,
    app_database_url: str,
    demo_model_dir: Path,
    demo_nlu: NLUModel,
    served_kb: KnowledgeBaseIndex,
    tmp_path: Path,
) -> AsyncIterator[Components]:
    """Everything the app needs, on a fresh database (`app_database_url`), with the queues
    synced; files customers send are kept under the test's temporary folder."""
    built = await wired(
        base_settings,
        app_database_url,
        demo_model_dir,
        demo_nlu,
        served_kb,
        tmp_path / "attachments",
    )
    yield built
    await built.db.dispose()


async def wired(
    base: Settings,
    database_url: str,
    model_dir: Path,
    nlu: NLUModel,
    kb: KnowledgeBaseIndex,
    files: Path,
    max_bytes: int | None = None,
) -> Components:
    """The components on `database_url` with the queues synced, files kept under `files`
    (at most `max_bytes` each when given)."""
    from actions.users import sync_queues  # noqa: PLC0415

    settings = with_attachments_in(settings_for(base, database_url, model_dir), files, max_bytes)
    built = wire(settings, nlu, kb, b"test-secret")
    async with built.db.session() as session, session.begin():
        await sync_queues(session, settings.queue_specs())
    return built


SERVER_PASSWORD = "e2e-password-123"


@pytest.fixture
def server_config() -> Callable[[dict[str, Any]], None]:
    """Changes a test makes to config.yml before `helpline_server` starts (override it)."""
    return lambda config: None


@pytest.fixture
def helpline_server(
    tmp_path: Path, demo_model_dir: Path, server_config: Callable[[dict[str, Any]], None]
) -> Iterator[HelplineServer]:
    """`helpline serve` on a fresh SQLite database, with the session's trained model, an agent
    `ada` in billing and a supervisor `sam` (both with SERVER_PASSWORD)."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'server.db'}"
    server = prepared_server(tmp_path, demo_model_dir, database_url, server_config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def demo_config(
    path: Path,
    demo_model_dir: Path,
    change: Callable[[dict[str, Any]], None] = lambda config: None,
) -> Path:
    """The project's config.yml (changed by `change`) written to `path`, reading the demo data
    and articles from the repository and the session's trained model."""
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    change(config)
    config["nlu"]["training_data"] = str(ROOT / "data/nlu.yml")
    config["nlu"]["model_dir"] = str(demo_model_dir)
    config["knowledge_base"]["sources"] = [str(ROOT / "knowledge_base/articles")]
    path.write_text(yaml.safe_dump(config))
    return path


def prepared_server(
    tmp_path: Path,
    demo_model_dir: Path,
    database_url: str,
    change: Callable[[dict[str, Any]], None] = lambda config: None,
    label: str = "server",
) -> HelplineServer:
    """A `helpline serve` ready to start: config.yml with the session's model (changed by
    `change`), the database migrated with `ada` (agent) and `sam` (supervisor) in billing."""
    path = demo_config(tmp_path / f"{label}.yml", demo_model_dir, change)
    env = dict(
        os.environ, DATABASE_URL=database_url, HELPLINE_SECRET="e2e-secret", HF_HUB_OFFLINE="1"
    )
    server = HelplineServer(path, env, tmp_path / f"{label}.log")
    for username, name, role in [
        ("ada", "Ada Lovelace", "agent"),
        ("sam", "Sam Supervisor", "supervisor"),
    ]:
        server.cli(
            "users",
            "create",
            username,
            "--name",
            name,
            "--role",
            role,
            "--queue",
            "billing",
            "--password",
            SERVER_PASSWORD,
        )
    return server
