"""Agent performance on a hand-built event log whose answers are worked out here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scoring import EventRecord
from scoring.agents import agent_performance

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ADA, GRACE = 1, 2


def ev(kind: str, minute: float, **fields: object) -> EventRecord:
    return EventRecord(type=kind, created_at=T0 + timedelta(minutes=minute), **fields)  # type: ignore[arg-type]


LOG = [
    # ticket 10 (billing): Ada takes it at 0, answers after 2 min, again after 3, resolves at 20
    ev("message_from_customer", -1, conversation_id=1),
    ev("ticket_assigned", 0, ticket_id=10, agent_id=ADA, queue="billing"),
    ev("message_from_agent", 1, conversation_id=1, agent_id=ADA),
    ev("first_response", 1, ticket_id=10, agent_id=ADA, queue="billing", payload={"seconds": 120}),
    ev("message_from_customer", 5, conversation_id=1),
    ev("message_from_customer", 6, conversation_id=1),
    ev("message_from_agent", 8, conversation_id=1, agent_id=ADA),
    ev(
        "ticket_resolved",
        20,
        ticket_id=10,
        agent_id=ADA,
        queue="billing",
        payload={"seconds": 1260},
    ),
    ev("csat_recorded", 21, ticket_id=10, agent_id=ADA, queue="billing", payload={"rating": 5}),
    ev("ticket_reopened", 30, ticket_id=10, agent_id=ADA, payload={"previous_agent": ADA}),
    # ticket 11 (billing): Ada takes it, passes it to Grace, who resolves it late (SLA breached)
    ev("ticket_assigned", 40, ticket_id=11, agent_id=ADA, queue="billing"),
    ev("ticket_transferred", 41, ticket_id=11, agent_id=GRACE, payload={"from_agent": ADA}),
    ev("ticket_assigned", 41, ticket_id=11, agent_id=GRACE, queue="billing"),
    ev("sla_breached", 50, ticket_id=11, agent_id=GRACE, payload={"clock": "resolution"}),
    ev(
        "ticket_resolved",
        61,
        ticket_id=11,
        agent_id=GRACE,
        queue="billing",
        payload={"seconds": 1260},
    ),
    ev("csat_recorded", 62, ticket_id=11, agent_id=GRACE, queue="billing", payload={"rating": 1}),
    ev(
        "ticket_resolved", 70, ticket_id=12, agent_id=GRACE, queue="orders", payload={"seconds": 60}
    ),
]


def test_each_part_of_agent_performance() -> None:
    ada, grace = agent_performance(LOG)[ADA], agent_performance(LOG)[GRACE]
    assert (ada.tickets_assigned, ada.tickets_resolved, ada.resolution_rate) == (2, 1, 50.0)
    assert ada.first_response_avg_s == 120.0
    assert ada.response_avg_s == (120 + 180) / 2  # from the first unanswered customer message
    assert ada.handle_avg_s == 1200.0  # assigned at 0, resolved at 20 min
    assert (ada.reopen_rate, ada.transfers, ada.sla_met) == (100.0, 1, 100.0)
    assert (grace.tickets_assigned, grace.tickets_resolved, grace.transfers) == (1, 2, 0)
    assert grace.handle_avg_s == 1200.0  # ticket 11 from 41 to 61; ticket 12 never assigned to her
    assert grace.sla_met == 50.0  # ticket 11 breached, ticket 12 did not


def test_csat_is_set_against_peers_on_the_same_queues() -> None:
    ada, grace = agent_performance(LOG)[ADA], agent_performance(LOG)[GRACE]
    assert (ada.csat, grace.csat) == (100.0, 0.0)
    assert ada.csat_vs_peers == 50.0  # billing overall: 1 of 2 ratings satisfied
    assert grace.csat_vs_peers == -50.0


def test_no_events_no_agents() -> None:
    assert agent_performance([]) == {}
