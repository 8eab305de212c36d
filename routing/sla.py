"""SLA clocks: when a response or resolution is due, counted in business hours when configured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

CLOCKS = ("first_response", "next_response", "resolution")
MAX_DAYS_SCANNED = 366 * 2  # a calendar with no working time at all is refused, not looped on


@dataclass(frozen=True)
class BusinessHours:
    """Working time: `start` to `end` on `weekdays` (0 is Monday), in `timezone`."""

    timezone: str = "UTC"
    start: time = time(9)
    end: time = time(17)
    weekdays: frozenset[int] = frozenset(range(5))

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError(
                f"business hours start ({self.start}) and end ({self.end}) are local times in "
                f"{self.timezone}: give them without an offset"
            )
        if self.end <= self.start:
            raise ValueError(f"business hours end ({self.end}) must be after start ({self.start})")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(f"weekdays must be a non-empty subset of 0..6, got {self.weekdays}")
        ZoneInfo(self.timezone)  # an unknown zone fails here, at start-up


@dataclass(frozen=True)
class SlaTargets:
    """Minutes allowed for each clock; None means the clock does not run."""

    first_response: float | None = None
    next_response: float | None = None
    resolution: float | None = None

    def minutes(self, clock: str) -> float | None:
        value: float | None = getattr(self, clock)
        return value


@dataclass(frozen=True)
class SlaPolicy:
    """A queue's targets per priority, its business hours, and how early to escalate."""

    targets: Mapping[str, SlaTargets] = field(default_factory=dict)
    business_hours: BusinessHours | None = None
    escalate_before_minutes: float = 15.0

    def due(self, clock: str, priority: str, start: datetime) -> datetime | None:
        """When `clock` breaches for a ticket of `priority` whose clock started at `start`."""
        targets = self.targets.get(priority)
        minutes = targets.minutes(clock) if targets else None
        if minutes is None:
            return None
        return add_business_minutes(start, minutes, self.business_hours)

    def to_json(self) -> dict[str, Any]:
        hours = self.business_hours
        return {
            "targets": {
                p: {c: t.minutes(c) for c in CLOCKS if t.minutes(c) is not None}
                for p, t in self.targets.items()
            },
            "business_hours": None
            if hours is None
            else {
                "timezone": hours.timezone,
                "start": hours.start.isoformat(),
                "end": hours.end.isoformat(),
                "weekdays": sorted(hours.weekdays),
            },
            "escalate_before_minutes": self.escalate_before_minutes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> SlaPolicy:
        if not data:
            return cls()
        hours = data.get("business_hours")
        return cls(
            targets={p: SlaTargets(**t) for p, t in data.get("targets", {}).items()},
            business_hours=None
            if hours is None
            else BusinessHours(
                timezone=hours["timezone"],
                start=time.fromisoformat(hours["start"]),
                end=time.fromisoformat(hours["end"]),
                weekdays=frozenset(hours["weekdays"]),
            ),
            escalate_before_minutes=float(data.get("escalate_before_minutes", 15.0)),
        )


def add_business_minutes(
    start: datetime, minutes: float, hours: BusinessHours | None = None
) -> datetime:
    """`start` plus `minutes` of working time (plain minutes when there are no business hours)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if hours is None:
        return start + timedelta(minutes=minutes)
    zone = ZoneInfo(hours.timezone)
    local = start.astimezone(zone)
    left = timedelta(minutes=minutes)
    for _ in range(MAX_DAYS_SCANNED):
        day = local.date()
        opens = datetime.combine(day, hours.start, tzinfo=zone)
        closes = datetime.combine(day, hours.end, tzinfo=zone)
        if day.weekday() in hours.weekdays and local < closes:
            begin = max(local, opens)
            available = closes.astimezone(UTC) - begin.astimezone(UTC)
            if left <= available:
                return (begin.astimezone(UTC) + left).astimezone(UTC)
            left -= available
        next_day = day + timedelta(days=1)
        local = datetime.combine(next_day, hours.start, tzinfo=zone)
    raise ValueError("no working time found within two years")


def business_minutes_between(
    start: datetime, end: datetime, hours: BusinessHours | None = None
) -> float:
    """Working minutes from `start` to `end` (zero when `end` is not after `start`)."""
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds() / 60
    zone = ZoneInfo(hours.timezone)
    local, stop = start.astimezone(zone), end.astimezone(zone)
    total = timedelta()
    while local < stop:
        day = local.date()
        opens = datetime.combine(day, hours.start, tzinfo=zone)
        closes = datetime.combine(day, hours.end, tzinfo=zone)
        if day.weekday() in hours.weekdays:
            begin, finish = max(local, opens), min(stop, closes)
            if finish > begin:
                total += finish.astimezone(UTC) - begin.astimezone(UTC)
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return total.total_seconds() / 60
