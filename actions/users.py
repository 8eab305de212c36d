"""Agents, supervisors and admins; queues as config.yml declares them; presence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.assignment import drain, route_for_agent, unassign_ticket
from actions.errors import Conflict, InvalidInput
from actions.record import SYSTEM, Actor, record
from routing import STRATEGIES
from storage.models import AgentQueue, Queue, Ticket, User

ROLES = ("agent", "supervisor", "admin")
STATUSES = ("online", "away", "offline")
MIN_PASSWORD = 8
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class QueueSpec:
    """A queue as config.yml declares it: skills, routing strategy, hand-back and SLA policy."""

    name: str
    skills: tuple[str, ...] = ()
    strategy: str = "least_busy"
    offline_hand_back: bool = True
    sla: Mapping[str, Any] | None = field(default=None)  # routing.SlaPolicy.to_json()


async def sync_queues(session: AsyncSession, queues: Iterable[QueueSpec]) -> None:
    """Make the queues table match config.yml (queues are never deleted)."""
    for spec in queues:
        queue = await session.scalar(select(Queue).where(Queue.name == spec.name))
        if queue is None:
            queue = Queue(name=spec.name, skills=list(spec.skills))
            session.add(queue)
        elif list(queue.skills) != list(spec.skills):
            queue.skills = list(spec.skills)
        _apply(queue, spec)


def _apply(queue: Queue, spec: QueueSpec) -> None:
    if spec.strategy not in STRATEGIES:
        raise InvalidInput(f"strategy must be one of {', '.join(STRATEGIES)}")
    queue.strategy = spec.strategy
    queue.offline_hand_back = spec.offline_hand_back
    queue.sla = dict(spec.sla) if spec.sla else None


async def create_user(  # noqa: PLR0917 - bot/cli.py and tests/bot pass queues and capacity by position
    session: AsyncSession,
    username: str,
    display_name: str,
    role: str,
    password: str,
    queue_names: Iterable[str] = (),
    capacity: int = 3,
    *,
    skills: Mapping[str, int] | None = None,
    languages: Iterable[str] = (),
) -> User:
    """A new staff member; joining a queue gives its skills at level 1 unless `skills` says more."""
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
        languages=sorted({code.strip().lower() for code in languages if code.strip()}),
    )
    session.add(user)
    await session.flush()
    levels: dict[str, int] = {}
    for name in queue_names:
        queue = await session.scalar(select(Queue).where(Queue.name == name))
        if queue is None:
            raise InvalidInput(f"queue {name!r} does not exist")
        session.add(AgentQueue(user_id=user.id, queue_id=queue.id))
        levels.update(dict.fromkeys(queue.skills, 1))
    user.skills = levels | _levels(skills or {})
    await session.flush()
    await session.refresh(user, ["queues"])
    record(session, SYSTEM, "create_user", ("user", user.id), payload={"role": role})
    return user


def _levels(skills: Mapping[str, int]) -> dict[str, int]:
    for skill, level in skills.items():
        if not skill or isinstance(level, bool) or not isinstance(level, int) or level < 1:
            raise InvalidInput(f"skill {skill!r} needs a level of 1 or more, got {level!r}")
    return dict(skills)


async def set_agent_skills(
    session: AsyncSession, user: User, skills: Mapping[str, int], actor: Actor = SYSTEM
) -> None:
    """Replace the agent's skills (skill -> level)."""
    previous, user.skills = dict(user.skills or {}), _levels(skills)
    record(
        session,
        actor,
        "set_agent_skills",
        ("user", user.id),
        payload={"from": previous, "to": dict(user.skills)},
    )


async def set_agent_status(session: AsyncSession, user: User, status: str) -> list[Ticket]:
    """Online agents receive waiting tickets at once; away agents keep their tickets but get no
    new ones; an agent going offline hands back the tickets not yet answered (where the queue
    says so), which are routed to others. Returns the tickets assigned now."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
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
    if status == "online":
        return await route_for_agent(session, user)
    if status == "offline":
        return await _hand_back(session, user)
    return []


async def _hand_back(session: AsyncSession, user: User) -> list[Ticket]:
    unanswered = await session.scalars(
        select(Ticket)
        .join(Queue, Queue.id == Ticket.queue_id)
        .where(
            Ticket.assignee_id == user.id,
            Ticket.status == "open",
            Ticket.first_response_at.is_(None),
            Queue.offline_hand_back.is_(True),
        )
        .order_by(Ticket.id)
    )
    queues = set()
    for ticket in list(unanswered):
        await unassign_ticket(
            session,
            ticket,
            Actor("agent", user.id),
            event="ticket_handed_back",
            payload={"agent_id": user.id, "reason": "offline"},
        )
        queues.add(ticket.queue_id)
    return await drain(session, sorted(queues)) if queues else []
