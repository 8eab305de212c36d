"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from storage.database import Database
from storage.models import Base


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
