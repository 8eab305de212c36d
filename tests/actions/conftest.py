"""A migrated database (SQLite and PostgreSQL) with the billing and general queues."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from argon2 import PasswordHasher

from actions import users
from storage.database import Database

QUEUES = [("billing", ("billing",)), ("general", ())]
# Argon2 with its cheapest parameters: the tests create many users, and the production cost
# (about 0.2 s a hash here) would dominate their run time. test_users checks the real hasher.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
async def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    monkeypatch.setattr(users, "_hasher", CHEAP_HASHER)
    database = Database(database_url)
    async with database.session() as session, session.begin():
        await users.sync_queues(session, QUEUES)
    yield database
    await database.dispose()
