"""Which queue a ticket goes to, which agent takes it, and how long the customer will wait."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

STRATEGIES = ("least_busy", "round_robin")


@dataclass(frozen=True)
class AgentLoad:
    agent_id: int
    online: bool
    capacity: int
    open_tickets: int
    last_assigned_at: datetime | None = None  # ties go to whoever waited longest
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> level (1 and up)
    languages: frozenset[str] = frozenset()  # empty: the agent takes any language

    @property
    def has_room(self) -> bool:
        return self.online and self.open_tickets < self.capacity


@dataclass(frozen=True)
class TicketNeeds:
    """What an agent must bring to take a ticket: its language and skills at a minimum level."""

    language: str | None = None
    skills: Mapping[str, int] = field(default_factory=dict)


def can_serve(agent: AgentLoad, needs: TicketNeeds) -> bool:
    """The agent speaks the ticket's language and has every skill it needs, at its level."""
    if needs.language and agent.languages and needs.language not in agent.languages:
        return False
    return all(agent.skills.get(skill, 0) >= level for skill, level in needs.skills.items())


def choose_queue(intent: str | None, intent_queues: Mapping[str, str], default: str) -> str:
    """The queue that handles this intent, or the default queue."""
    if intent is None:
        return default
    return intent_queues.get(intent, default)


def rank_agents(
    agents: Iterable[AgentLoad],
    needs: TicketNeeds | None = None,
    strategy: str = "least_busy",
) -> list[int]:
    """The agents who could take the ticket now, best first, by the queue's strategy."""
    wanted = needs or TicketNeeds()
    candidates = [a for a in agents if a.has_room and can_serve(a, wanted)]
    key = _round_robin_key if strategy == "round_robin" else _least_busy_key
    return [a.agent_id for a in sorted(candidates, key=key)]


def pick_agent(
    agents: Iterable[AgentLoad], needs: TicketNeeds | None = None, strategy: str = "least_busy"
) -> int | None:
    """Least busy (or next in rotation) online agent under capacity who can serve the ticket."""
    ranked = rank_agents(agents, needs, strategy)
    return ranked[0] if ranked else None


def _waited(agent: AgentLoad) -> float:
    return agent.last_assigned_at.timestamp() if agent.last_assigned_at else -math.inf


def _least_busy_key(agent: AgentLoad) -> tuple[int, float, int]:
    return (agent.open_tickets, _waited(agent), agent.agent_id)


def _round_robin_key(agent: AgentLoad) -> tuple[float, int]:
    return (_waited(agent), agent.agent_id)


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
