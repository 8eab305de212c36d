"""Agent performance from the event log: speed, outcomes, transfers, SLA and satisfaction, with
each agent's CSAT set against their peers' on the same queues."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import mean

from scoring.quality import EventRecord, csat


@dataclass(frozen=True)
class AgentPerformance:
    tickets_assigned: int
    tickets_resolved: int
    resolution_rate: float | None  # % of assigned tickets this agent resolved
    first_response_avg_s: float | None
    response_avg_s: float | None  # every reply: from the customer's first unanswered message
    handle_avg_s: float | None  # from assignment to resolution
    reopen_rate: float | None  # % of their resolved tickets that the customer reopened
    transfers: int  # tickets they passed on
    sla_met: float | None  # % of their resolved tickets without a breached SLA clock
    ratings: int
    csat: float | None
    csat_vs_peers: float | None  # points above (or below) the CSAT of the same queues overall


def agent_performance(events: Iterable[EventRecord]) -> dict[int, AgentPerformance]:
    ordered = sorted(events, key=lambda e: e.created_at)
    facts = _Facts()
    for event in ordered:
        facts.add(event)
    return {agent: facts.performance(agent) for agent in sorted(facts.agents)}


class _Facts:
    def __init__(self) -> None:
        self.agents: set[int] = set()
        self.assigned: dict[int, set[int]] = defaultdict(set)
        self.assigned_at: dict[tuple[int, int], datetime] = {}
        self.resolved: dict[int, set[int]] = defaultdict(set)
        self.handle: dict[int, list[float]] = defaultdict(list)
        self.first: dict[int, list[float]] = defaultdict(list)
        self.replies: dict[int, list[float]] = defaultdict(list)
        self.waiting_since: dict[int, datetime] = {}  # conversation -> first unanswered message
        self.reopened: dict[int, int] = defaultdict(int)
        self.transfers: dict[int, int] = defaultdict(int)
        self.breached: set[int] = set()
        self.ratings: dict[int, list[tuple[str | None, int]]] = defaultdict(list)
        self.queue_ratings: dict[str | None, list[int]] = defaultdict(list)

    def add(self, e: EventRecord) -> None:
        agent, ticket = e.agent_id, e.ticket_id
        self._by_payload(e)
        if e.type == "message_from_customer" and e.conversation_id is not None:
            self.waiting_since.setdefault(e.conversation_id, e.created_at)
        elif e.type == "message_from_agent" and agent is not None and e.conversation_id is not None:
            since = self.waiting_since.pop(e.conversation_id, None)
            if since is not None:
                self.replies[agent].append((e.created_at - since).total_seconds())
        elif agent is None or ticket is None:
            return
        elif e.type == "ticket_assigned":
            self.agents.add(agent)
            self.assigned[agent].add(ticket)
            self.assigned_at[(agent, ticket)] = e.created_at
        elif e.type == "ticket_resolved":
            self.resolved[agent].add(ticket)
            start = self.assigned_at.get((agent, ticket))
            if start is not None:
                self.handle[agent].append((e.created_at - start).total_seconds())
        elif e.type == "first_response":
            self.first[agent].append(float(e.payload["seconds"]))
        elif e.type == "csat_recorded":
            self.ratings[agent].append((e.queue, int(e.payload["rating"])))
            self.queue_ratings[e.queue].append(int(e.payload["rating"]))

    def _by_payload(self, e: EventRecord) -> None:
        """Events that name the agent they count against in their payload, and SLA breaches."""
        if e.type == "ticket_reopened" and isinstance(e.payload.get("previous_agent"), int):
            self.reopened[e.payload["previous_agent"]] += 1
        elif e.type == "ticket_transferred" and isinstance(e.payload.get("from_agent"), int):
            self.transfers[e.payload["from_agent"]] += 1
        if e.ticket_id is not None and e.type == "sla_breached":
            self.breached.add(e.ticket_id)

    def performance(self, agent: int) -> AgentPerformance:
        resolved = self.resolved[agent]
        ratings = self.ratings[agent]
        own = csat(r for _, r in ratings)
        peers = [csat(self.queue_ratings[q]) for q, _ in ratings]
        expected = (
            mean(p for p in peers if p is not None) if any(p is not None for p in peers) else None
        )
        return AgentPerformance(
            tickets_assigned=len(self.assigned[agent]),
            tickets_resolved=len(resolved),
            resolution_rate=_share(len(resolved), len(self.assigned[agent])),
            first_response_avg_s=_avg(self.first[agent]),
            response_avg_s=_avg(self.replies[agent]),
            handle_avg_s=_avg(self.handle[agent]),
            reopen_rate=_share(self.reopened[agent], len(resolved)),
            transfers=self.transfers[agent],
            sla_met=_share(len(resolved - self.breached), len(resolved)),
            ratings=len(ratings),
            csat=own,
            csat_vs_peers=round(own - expected, 1)
            if own is not None and expected is not None
            else None,
        )


def _avg(values: list[float]) -> float | None:
    return round(mean(values), 1) if values else None


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
