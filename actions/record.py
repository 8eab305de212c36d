"""The event and audit rows that every action writes beside its change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog, Event, utcnow


@dataclass(frozen=True)
class Actor:
    type: str  # customer | agent | bot | system
    id: int | None = None


BOT = Actor("bot")
SYSTEM = Actor("system")


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target: tuple[str, int],
    *,
    event: str | None = None,
    conversation_id: int | None = None,
    ticket_id: int | None = None,
    agent_id: int | None = None,
    queue: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Add the audit row for `action` and, when `event` is given, the event for the reports."""
    now = utcnow()
    details = payload or {}
    session.add(
        AuditLog(
            actor_type=actor.type,
            actor_id=actor.id,
            action=action,
            target_type=target[0],
            target_id=target[1],
            details=details,
            created_at=now,
        )
    )
    if event is not None:
        session.add(
            Event(
                type=event,
                conversation_id=conversation_id,
                ticket_id=ticket_id,
                agent_id=agent_id,
                queue=queue,
                payload=details,
                created_at=now,
            )
        )
