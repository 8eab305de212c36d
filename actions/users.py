"""Agents, supervisors and admins; queues as config.yml declares them; presence."""

from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.errors import Conflict, InvalidInput
from actions.record import SYSTEM, Actor, record
from actions.tickets import route_for_agent
from storage.models import AgentQueue, Queue, Ticket, User

ROLES = ("agent", "supervisor", "admin")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def sync_queues(session: AsyncSession, queues: Iterable[tuple[str, tuple[str, ...]]]) -> None:
    """Make the queues table match config.yml's names and skills (queues are never deleted)."""
    for name, skills in queues:
        queue = await session.scalar(select(Queue).where(Queue.name == name))
        if queue is None:
            session.add(Queue(name=name, skills=list(skills)))
        elif list(queue.skills) != list(skills):
            queue.skills = list(skills)


async def create_user(  # noqa: PLR0917 - bot/cli.py and tests/bot pass queues and capacity by position
    session: AsyncSession,
    username: str,
    display_name: str,
    role: str,
    password: str,
    queue_names: Iterable[str] = (),
    capacity: int = 3,
) -> User:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password needs at least {MIN_PASSWORD} characters")
    if not username.strip():
        raise InvalidInput("the username is empty")
    if await session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"the username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        capacity=capacity,
        status="offline",
    )
    session.add(user)
    await session.flush()
    for name in queue_names:
        queue = await session.scalar(select(Queue).where(Queue.name == name))
        if queue is None:
            raise InvalidInput(f"queue {name!r} does not exist")
        session.add(AgentQueue(user_id=user.id, queue_id=queue.id))
    await session.flush()
    await session.refresh(user, ["queues"])
    record(session, SYSTEM, "create_user", ("user", user.id), payload={"role": role})
    return user


async def set_agent_status(session: AsyncSession, user: User, status: str) -> list[Ticket]:
    """Online agents receive waiting tickets at once; returns the tickets assigned now."""
    if status not in ("online", "offline"):
        raise InvalidInput(f"status must be online or offline, got {status!r}")
    if user.status != status:
        previous, user.status = user.status, status
        record(
            session,
            Actor("agent", user.id),
            "set_agent_status",
            ("user", user.id),
            event="agent_status",
            agent_id=user.id,
            payload={"from": previous, "to": status},
        )
    return await route_for_agent(session, user) if status == "online" else []
