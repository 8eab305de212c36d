"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import OperationalError

from storage import migrate
from storage.database import Database
from storage.models import Base, LoginSession, User


async def test_migrated_schema_has_every_model_table(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await db.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


async def test_migrated_columns_match_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.engine.connect() as connection:
            columns = await connection.run_sync(
                lambda c: {
                    t: {col["name"] for col in inspect(c).get_columns(t)}
                    for t in Base.metadata.tables
                }
            )
    finally:
        await db.dispose()
    for name, table in Base.metadata.tables.items():
        assert columns[name] == {c.name for c in table.columns}, name


async def test_upgrading_sqlite_keeps_rows_that_reference_altered_tables(tmp_path: Path) -> None:
    """0002 alters `users` by copying it; the login session pointing at the user must not stop
    the upgrade, and both rows come through."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await migrate.upgrade_async(url, "0001")
    with sqlite3.connect(tmp_path / "old.db") as old:
        old.execute(
            "INSERT INTO users (id, username, display_name, password_hash, role, status,"
            " capacity, created_at) VALUES (1, 'ada', 'Ada', 'x', 'agent', 'online', 3,"
            " '2026-01-01 00:00:00')"
        )
        old.execute(
            "INSERT INTO login_sessions VALUES ('t', 1, 'c', '2026-01-01 00:00:00',"
            " '2026-02-01 00:00:00')"
        )
    await migrate.upgrade_async(url)
    db = Database(url)
    try:
        async with db.session() as session:
            user = await session.get(User, 1)
            sessions = await session.scalar(select(func.count()).select_from(LoginSession))
    finally:
        await db.dispose()
    assert user is not None and user.username == "ada"
    assert sessions == 1


async def test_a_failed_sqlite_upgrade_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await migrate.upgrade_async(url, "0001")
    with sqlite3.connect(tmp_path / "old.db") as old:
        # 0002 adds `orders` and alters `users` before it copies `tickets` through this name.
        old.execute("CREATE TABLE _alembic_tmp_tickets (id INTEGER)")
    with pytest.raises(OperationalError, match="_alembic_tmp_tickets already exists"):
        await migrate.upgrade_async(url)
    with sqlite3.connect(tmp_path / "old.db") as old:
        version = old.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {name for (name,) in old.execute("SELECT name FROM sqlite_master")}
        user_columns = {row[1] for row in old.execute("PRAGMA table_info(users)")}
    assert version == [("0001",)]
    assert "orders" not in tables
    assert "skills" not in user_columns
