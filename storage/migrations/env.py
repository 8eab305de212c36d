"""Alembic environment: runs migrations on the async engine named by the config's URL."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.database import create_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it and dropping the old one (batch mode); with
        # foreign keys enforced, the drop fails as soon as another table's row points at it.
        # SQLite's own recipe: off for the migration (a no-op inside a transaction, so before
        # it), then every reference checked before the commit. sqlite3 would run each CREATE,
        # DROP and ALTER on its own, so a failed migration left a half-altered database: one
        # explicit transaction makes the whole upgrade land or nothing.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.exec_driver_sql("BEGIN")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            _check_references(connection)


def _check_references(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        found = ", ".join(f"{table} row {row} -> {parent}" for table, row, parent, _ in broken[:5])
        raise RuntimeError(f"the migration left {len(broken)} broken references: {found}")


async def _run_async() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `helpline db migrate`")
asyncio.run(_run_async())
