"""SLA clocks in plain and business time."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from routing import BusinessHours, SlaPolicy, SlaTargets, add_business_minutes
from routing.sla import business_minutes_between

# Berlin office hours; 2026-11-27 is a Friday, 2026-11-30 the Monday after.
OFFICE = BusinessHours("Europe/Berlin", time(9), time(17), frozenset(range(5)))


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Berlin (UTC+1 in November) as UTC."""
    return datetime(2026, 11, day, hour - 1, minute, tzinfo=UTC)


def test_without_business_hours_minutes_are_plain_minutes() -> None:
    start = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert add_business_minutes(start, 90) == datetime(2026, 11, 27, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (berlin(27, 10), 60, berlin(27, 11)),  # inside the day
        (berlin(27, 16, 30), 60, berlin(30, 9, 30)),  # Friday evening runs on Monday
        (berlin(28, 12), 30, berlin(30, 9, 30)),  # Saturday counts from Monday's opening
        (berlin(27, 7), 30, berlin(27, 9, 30)),  # before opening
        (berlin(26, 16), 16 * 60, berlin(30, 16)),  # two working days over a weekend
    ],
)
def test_business_minutes_skip_nights_and_weekends(
    start: datetime, minutes: float, due: datetime
) -> None:
    assert add_business_minutes(start, minutes, OFFICE) == due


def test_business_minutes_between_counts_only_working_time() -> None:
    assert business_minutes_between(berlin(27, 16, 30), berlin(30, 9, 30), OFFICE) == 60
    assert business_minutes_between(berlin(30, 9), berlin(27, 9), OFFICE) == 0


def test_a_policy_gives_due_times_per_priority_and_clock() -> None:
    policy = SlaPolicy(
        {"urgent": SlaTargets(first_response=15), "normal": SlaTargets(60, 120, 480)}, OFFICE
    )
    start = berlin(27, 16, 30)
    assert policy.due("first_response", "urgent", start) == berlin(27, 16, 45)
    assert policy.due("resolution", "urgent", start) is None
    assert policy.due("resolution", "normal", start) == berlin(30, 16, 30)
    assert SlaPolicy.from_json(policy.to_json()) == policy


def test_impossible_business_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="after start"):
        BusinessHours("UTC", time(17), time(9))
    with pytest.raises(ValueError, match="weekdays"):
        BusinessHours("UTC", weekdays=frozenset({7}))
    with pytest.raises(ValueError, match="without an offset"):
        BusinessHours("UTC", time(0, tzinfo=UTC), time(17))
