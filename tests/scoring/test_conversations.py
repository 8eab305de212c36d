"""Conversation rows, filters and bot performance, on hand-built event logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scoring import EventRecord, ReportFilter, bot_performance, build_report, conversation_rows

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def ev(kind: str, conversation: int, minute: int, **fields: object) -> EventRecord:
    return EventRecord(
        type=kind, created_at=T0 + timedelta(minutes=minute), conversation_id=conversation, **fields
    )  # type: ignore[arg-type]


def handled(
    conversation: int, start: int, agent: int, queue: str, rating: int | None
) -> list[EventRecord]:
    """A conversation handed to `agent`: first reply after 2 min, resolved after 10."""
    events = [
        ev("conversation_started", conversation, start, payload={"channel": "web"}),
        ev("message_from_customer", conversation, start, payload={"intent": "nlu_fallback"}),
        ev("message_from_customer", conversation, start + 1, payload={"intent": "billing_issue"}),
        ev("ticket_created", conversation, start + 1, ticket_id=conversation * 10, queue=queue),
        ev("handoff", conversation, start + 1, ticket_id=conversation * 10, queue=queue),
        ev(
            "ticket_assigned",
            conversation,
            start + 1,
            ticket_id=conversation * 10,
            agent_id=agent,
            queue=queue,
        ),
        ev(
            "first_response",
            conversation,
            start + 3,
            ticket_id=conversation * 10,
            agent_id=agent,
            queue=queue,
            payload={"seconds": 120.0},
        ),
        ev(
            "ticket_resolved",
            conversation,
            start + 11,
            ticket_id=conversation * 10,
            agent_id=agent,
            queue=queue,
            payload={"seconds": 600.0},
        ),
    ]
    if rating is not None:
        events.append(
            ev(
                "csat_recorded",
                conversation,
                start + 12,
                ticket_id=conversation * 10,
                agent_id=agent,
                queue=queue,
                payload={"rating": rating},
            )
        )
    return events


def contained(conversation: int, start: int, intent: str = "shipping_info") -> list[EventRecord]:
    return [
        ev("conversation_started", conversation, start, payload={"channel": "rest"}),
        ev("message_from_customer", conversation, start, payload={"intent": intent}),
        ev("message_from_bot", conversation, start),
    ]


def test_rows_fold_each_conversation_from_its_events() -> None:
    rows = conversation_rows([*handled(1, 0, agent=7, queue="billing", rating=5), *contained(2, 5)])
    first, second = rows
    assert (first.channel, first.intent, first.queue, first.agent_id) == (
        "web",
        "billing_issue",
        "billing",
        7,
    )
    assert (first.ticket_id, first.handed_off, first.resolved) == (10, True, True)
    assert (first.first_response_s, first.resolution_s, first.rating) == (120.0, 600.0, 5)
    assert (second.channel, second.intent, second.handed_off, second.rating) == (
        "rest",
        "shipping_info",
        False,
        None,
    )


def test_a_second_rating_does_not_replace_the_first() -> None:
    events = handled(1, 0, agent=7, queue="billing", rating=2)
    events.append(ev("csat_recorded", 1, 30, payload={"rating": 5}))
    assert conversation_rows(events)[0].rating == 2


def test_bot_performance_counts_containment_and_handoff_intents() -> None:
    events = [
        *handled(1, 0, 7, "billing", 5),
        *handled(2, 0, 8, "billing", 2),
        *contained(3, 0),
        *contained(4, 0),
        *contained(5, 0),
    ]
    performance = bot_performance(conversation_rows(events))
    assert performance.conversations == 5 and performance.handed_off == 2
    assert performance.containment == 60.0
    assert performance.csat == 50.0 and performance.ratings == 2
    assert performance.handoff_intents == {"billing_issue": 2}


def test_filters_select_conversations_and_every_number_follows() -> None:
    events = [
        *handled(1, 0, 7, "billing", 5),
        *handled(2, 60 * 24 * 3, 8, "orders", 1),
        *contained(3, 0),
    ]
    everything = build_report(events, ReportFilter())
    assert everything.quality.summary.csat == 50.0
    billing = build_report(events, ReportFilter(queue="billing"))
    assert [r.conversation_id for r in billing.conversations] == [1]
    assert billing.quality.summary.csat == 100.0
    assert set(billing.quality.by_agent) == {7}
    recent = build_report(events, ReportFilter(since=T0 + timedelta(days=1)))
    assert [r.conversation_id for r in recent.conversations] == [2]
    assert recent.quality.summary.tickets_handled == 1
    assert recent.bot.containment == 0.0
    by_agent = build_report(events, ReportFilter(agent_id=8, channel="web"))
    assert [r.conversation_id for r in by_agent.conversations] == [2]


def test_empty_log_gives_empty_report() -> None:
    report = build_report([], ReportFilter())
    assert report.conversations == [] and report.bot.containment is None
    assert report.quality.summary.csat is None


def test_the_customers_mood_at_the_start_and_the_end() -> None:
    events = [
        ev("conversation_started", 1, 0),
        ev("message_from_customer", 1, 0, payload={"intent": "billing_issue", "sentiment": -0.6}),
        ev("message_from_customer", 1, 1, payload={"intent": "thank_you"}),
        ev("message_from_customer", 1, 2, payload={"intent": "thank_you", "sentiment": 0.7}),
    ]
    row = conversation_rows(events)[0]
    assert (row.sentiment_start, row.sentiment_end, row.customer_messages) == (-0.6, 0.7, 3)
