"""Which queue a ticket goes to, which agent takes it, and how long the customer will wait."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AgentLoad:
    agent_id: int
    online: bool
    capacity: int
    open_tickets: int
    last_assigned_at: datetime | None = None  # ties go to whoever waited longest

    @property
    def has_room(self) -> bool:
        return self.online and self.open_tickets < self.capacity


def choose_queue(intent: str | None, intent_queues: Mapping[str, str], default: str) -> str:
    """The queue that handles this intent, or the default queue."""
    if intent is None:
        return default
    return intent_queues.get(intent, default)


def pick_agent(agents: Iterable[AgentLoad]) -> int | None:
    """Least busy online agent under capacity; ties to whoever was assigned least recently."""
    candidates = [a for a in agents if a.has_room]
    if not candidates:
        return None
    best = min(candidates, key=_least_busy_key)
    return best.agent_id


def _least_busy_key(agent: AgentLoad) -> tuple[int, float, int]:
    waited = agent.last_assigned_at.timestamp() if agent.last_assigned_at else -math.inf
    return (agent.open_tickets, waited, agent.agent_id)


def estimate_wait_minutes(
    tickets_ahead: int, agents: Iterable[AgentLoad], minutes_per_ticket: float
) -> int:
    """Rough wait: tickets ahead shared over the online agents, at least one minute."""
    agents = list(agents)
    online = sum(1 for a in agents if a.online)
    if any(a.has_room for a in agents) and tickets_ahead == 0:
        return 1
    per_agent = (tickets_ahead + 1) / max(online, 1)
    factor = 1 if online else 3  # nobody online: expect the wait of a shift change
    return max(1, math.ceil(per_agent * minutes_per_ticket * factor))
