"""Service-quality metrics from event records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import mean

import pytest

from scoring import EventRecord, QualityRow, csat, quality_report

START = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def event(
    kind: str,
    ticket: int | None,
    agent: int | None,
    queue: str | None,
    minute: int = 0,
    **payload: object,
) -> EventRecord:
    return EventRecord(kind, START + timedelta(minutes=minute), ticket, agent, queue, dict(payload))


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        ([5, 4, 3, 1], 50.0),
        ([5, 5, 5], 100.0),
        ([1, 2, 3], 0.0),
        ([4], 100.0),
        ([3, 4, 5], 100.0 * 2 / 3),
    ],
)
def test_csat_is_the_share_of_4_and_5(ratings: list[int], expected: float) -> None:
    assert csat(ratings) == pytest.approx(expected)


def test_csat_without_ratings_is_none() -> None:
    assert csat([]) is None
    assert csat(iter([])) is None


def test_csat_accepts_a_generator() -> None:
    assert csat(r for r in [5, 1]) == 50.0


EVENTS = [
    # agent 1, billing: two tickets, one of them resolved twice (reopened)
    event("first_response", 1, 1, "billing", 1, seconds=60),
    event("ticket_resolved", 1, 1, "billing", 10, seconds=600),
    event("csat_recorded", 1, 1, "billing", 11, rating=5),
    event("first_response", 2, 1, "billing", 12, seconds=120),
    event("ticket_resolved", 2, 1, "billing", 20, seconds=900),
    event("ticket_reopened", 2, 1, "billing", 30),
    event("ticket_resolved", 2, 1, "billing", 40, seconds=2100),
    event("csat_recorded", 2, 1, "billing", 41, rating=2),
    # agent 2, orders: one ticket, rated 4
    event("first_response", 3, 2, "orders", 5, seconds=30),
    event("ticket_resolved", 3, 2, "orders", 15, seconds=300),
    event("csat_recorded", 3, 2, "orders", 16, rating=4),
    # agent 2, billing: answered, not resolved yet
    event("first_response", 4, 2, "billing", 7, seconds=45),
    # a rating for a bot-only conversation: no agent, no queue
    event("csat_recorded", None, None, None, 50, rating=3),
    # other events are ignored
    event("ticket_created", 5, None, "orders", 1),
    event("message_received", 5, 2, "orders", 2, seconds=9999, rating=1),
]


def test_summary_covers_every_measured_event() -> None:
    summary = quality_report(EVENTS).summary
    assert summary == QualityRow(
        tickets_handled=3,
        ratings=4,
        csat=csat([5, 2, 4, 3]),
        first_response_avg_s=round(mean([60, 120, 30, 45]), 1),
        resolution_avg_s=round(mean([600, 900, 2100, 300]), 1),
    )


def test_per_agent_rows() -> None:
    by_agent = quality_report(EVENTS).by_agent
    assert set(by_agent) == {1, 2}
    assert by_agent[1] == QualityRow(
        tickets_handled=2,
        ratings=2,
        csat=50.0,
        first_response_avg_s=90.0,
        resolution_avg_s=round(mean([600, 900, 2100]), 1),
    )
    assert by_agent[2] == QualityRow(
        tickets_handled=1,
        ratings=1,
        csat=100.0,
        first_response_avg_s=37.5,
        resolution_avg_s=300.0,
    )


def test_per_queue_rows() -> None:
    by_queue = quality_report(EVENTS).by_queue
    assert set(by_queue) == {"billing", "orders"}
    assert by_queue["billing"].tickets_handled == 2
    assert by_queue["billing"].ratings == 2
    assert by_queue["billing"].first_response_avg_s == 75.0  # 60, 120, 45
    assert by_queue["orders"] == QualityRow(
        tickets_handled=1, ratings=1, csat=100.0, first_response_avg_s=30.0, resolution_avg_s=300.0
    )


def test_other_event_types_are_ignored() -> None:
    noise = [
        event("ticket_created", 9, 3, "tech", 0),
        event("message_received", 9, 3, "tech", 1, seconds=5, rating=1),
    ]
    assert quality_report(EVENTS + noise) == quality_report(EVENTS)


def test_an_agent_with_only_first_responses_has_no_resolutions_or_rating() -> None:
    row = quality_report([event("first_response", 1, 9, "tech", 0, seconds=12)]).by_agent[9]
    assert row == QualityRow(
        tickets_handled=0, ratings=0, csat=None, first_response_avg_s=12.0, resolution_avg_s=None
    )


def test_averages_are_rounded_to_a_tenth_of_a_second() -> None:
    events = [event("first_response", i, 1, "q", i, seconds=s) for i, s in enumerate([1, 1, 2])]
    assert quality_report(events).summary.first_response_avg_s == 1.3


def test_no_events_gives_an_empty_report() -> None:
    report = quality_report([])
    assert report.summary == QualityRow(0, 0, None, None, None)
    assert report.by_agent == {}
    assert report.by_queue == {}
