"""Service quality from the event log: CSAT, first response and resolution times, volume."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean
from typing import Any

SATISFIED_MIN_RATING = 4


@dataclass(frozen=True)
class EventRecord:
    type: str
    created_at: datetime
    ticket_id: int | None = None
    agent_id: int | None = None
    queue: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    conversation_id: int | None = None


@dataclass(frozen=True)
class QualityRow:
    """One line of a report: everything handled by one agent, one queue, or by everyone."""

    tickets_handled: int
    ratings: int
    csat: float | None  # % of ratings that are 4 or 5
    first_response_avg_s: float | None
    resolution_avg_s: float | None


@dataclass(frozen=True)
class QualityReport:
    summary: QualityRow
    by_agent: dict[int, QualityRow]
    by_queue: dict[str, QualityRow]


def csat(ratings: Iterable[int]) -> float | None:
    """Share of ratings of 4 or 5, as a percentage of all ratings; None without ratings."""
    values = list(ratings)
    if not values:
        return None
    return 100.0 * sum(r >= SATISFIED_MIN_RATING for r in values) / len(values)


def quality_report(events: Iterable[EventRecord]) -> QualityReport:
    """Aggregate the events overall, per agent and per queue."""
    relevant = [e for e in events if e.type in _MEASURES]
    return QualityReport(
        summary=_row(relevant),
        by_agent=_grouped(relevant, lambda e: e.agent_id),
        by_queue=_grouped(relevant, lambda e: e.queue),
    )


_MEASURES = {"ticket_resolved", "first_response", "csat_recorded"}


def _grouped(events: list[EventRecord], key: Callable[[EventRecord], Hashable]) -> dict[Any, Any]:
    groups: dict[Any, list[EventRecord]] = defaultdict(list)
    for event in events:
        group = key(event)
        if group is not None:
            groups[group].append(event)
    return {group: _row(members) for group, members in groups.items()}


def _row(events: list[EventRecord]) -> QualityRow:
    ratings = [int(e.payload["rating"]) for e in events if e.type == "csat_recorded"]
    return QualityRow(
        tickets_handled=len({e.ticket_id for e in events if e.type == "ticket_resolved"}),
        ratings=len(ratings),
        csat=csat(ratings),
        first_response_avg_s=_average(events, "first_response"),
        resolution_avg_s=_average(events, "ticket_resolved"),
    )


def _average(events: list[EventRecord], event_type: str) -> float | None:
    seconds = [float(e.payload["seconds"]) for e in events if e.type == event_type]
    return round(mean(seconds), 1) if seconds else None
