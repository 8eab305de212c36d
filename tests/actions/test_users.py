"""create_user, password hashing and sync_queues, read back from the database."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from actions import users
from actions.errors import Conflict, InvalidInput
from actions.users import QueueSpec, create_user, sync_queues, verify_password
from storage.database import Database
from storage.models import Queue, User
from tests.actions.support import PASSWORD, count_rows, read_audit, table_sizes


async def _create(
    db: Database,
    username: str = "ada",
    role: str = "agent",
    password: str = PASSWORD,
    queues: tuple[str, ...] = ("billing",),
) -> User:
    async with db.session() as session, session.begin():
        return await create_user(session, username, "Ada L.", role, password, queues, 2)


async def _user(db: Database, username: str) -> User:
    async with db.session() as session:
        user = await session.scalar(select(User).where(User.username == username))
        assert user is not None
        return user


async def test_create_user_stores_the_user_with_queues_and_capacity(db: Database) -> None:
    created = await _create(db, role="supervisor", queues=("billing", "general"))

    user = await _user(db, "ada")
    assert user.id == created.id
    assert (user.display_name, user.role, user.status, user.capacity) == (
        "Ada L.",
        "supervisor",
        "offline",
        2,
    )
    assert sorted(q.name for q in user.queues) == ["billing", "general"]
    [audit] = await read_audit(db, "create_user")
    assert (audit.target_type, audit.target_id, audit.details) == (
        "user",
        user.id,
        {"role": "supervisor"},
    )


async def test_an_unknown_role_is_invalid(db: Database) -> None:
    with pytest.raises(InvalidInput, match="role"):
        await _create(db, role="root")

    assert await count_rows(db, User) == 0


async def test_a_short_password_is_invalid(db: Database) -> None:
    with pytest.raises(InvalidInput, match="password"):
        await _create(db, password="1234567")

    assert await count_rows(db, User) == 0
    await _create(db, password="12345678")  # eight characters are enough
    assert await count_rows(db, User) == 1


async def test_a_taken_username_is_a_conflict(db: Database) -> None:
    await _create(db)
    sizes = await table_sizes(db)

    with pytest.raises(Conflict):
        await _create(db, role="admin", password="another password")

    assert await table_sizes(db) == sizes
    assert (await _user(db, "ada")).role == "agent"


@pytest.mark.parametrize("username", ["", "   "])
async def test_an_empty_username_is_invalid(db: Database, username: str) -> None:
    with pytest.raises(InvalidInput, match="username"):
        await _create(db, username=username)

    assert await count_rows(db, User) == 0


async def test_an_unknown_queue_is_invalid_and_nothing_is_kept(db: Database) -> None:
    sizes = await table_sizes(db)

    with pytest.raises(InvalidInput, match="nowhere"):
        await _create(db, queues=("billing", "nowhere"))

    assert await table_sizes(db) == sizes


async def test_passwords_are_stored_as_argon2_hashes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "_hasher", PasswordHasher())  # the production parameters
    await _create(db)

    stored = (await _user(db, "ada")).password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert not PasswordHasher().check_needs_rehash(stored)
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "!")
    assert not verify_password(stored, "")


def test_verify_password_rejects_what_is_not_a_hash() -> None:
    assert not verify_password("", PASSWORD)
    assert not verify_password(PASSWORD, PASSWORD)


def test_the_same_password_hashes_differently_each_time() -> None:
    assert users.hash_password(PASSWORD) != users.hash_password(PASSWORD)


async def test_sync_queues_adds_updates_and_never_deletes(db: Database) -> None:
    async with db.session() as session, session.begin():
        await sync_queues(
            session, [QueueSpec("billing", ("billing", "refunds")), QueueSpec("tech", ("it",))]
        )
    async with db.session() as session, session.begin():
        await sync_queues(session, [QueueSpec("tech", ("it",), strategy="round_robin")])

    async with db.session() as session:
        queues = {q.name: (q.skills, q.strategy) for q in await session.scalars(select(Queue))}
    assert queues == {
        "billing": (["billing", "refunds"], "least_busy"),
        "general": ([], "least_busy"),
        "tech": (["it"], "round_robin"),
    }
