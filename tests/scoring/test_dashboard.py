"""Dashboard figures from conversation facts: peers by queue and by intent, the agent score
beside its parts, trends, and the filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scoring.conversations import ReportFilter
from scoring.dashboard import dashboard, score, sums_in_memory
from scoring.facts import conversation_facts, facts_by_conversation
from scoring.quality import EventRecord

DAY1 = datetime(2026, 11, 2, 9, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


class Story:
    """Events of one conversation, a minute apart."""

    def __init__(self, conversation: int, start: datetime, channel: str, intent: str) -> None:
        self.id, self.at, self.events = conversation, start, []
        self.add("conversation_started", channel=channel)
        self.add("message_from_customer", intent=intent, sentiment=0.0)

    def add(self, kind: str, *, ticket: int | None = None, agent: int | None = None,
            queue: str | None = None, **payload: Any) -> Story:  # fmt: skip
        self.events.append(EventRecord(kind, self.at, ticket, agent, queue, dict(payload), self.id))
        self.at += timedelta(minutes=1)
        return self

    def handled(self, ticket: int, agent: int, *, rating: int, breached: bool = False) -> Story:
        self.add("ticket_created", ticket=ticket, queue="billing")
        self.add("handoff", ticket=ticket, queue="billing")
        self.add("ticket_assigned", ticket=ticket, agent=agent, queue="billing")
        self.add("message_from_agent", agent=agent)
        self.add("first_response", ticket=ticket, agent=agent, queue="billing", seconds=60)
        if breached:
            self.add("sla_breached", ticket=ticket, agent=agent, queue="billing")
        self.add("ticket_resolved", ticket=ticket, agent=agent, queue="billing", seconds=600)
        return self.add("csat_recorded", ticket=ticket, agent=agent, queue="billing", rating=rating)


def events() -> list[EventRecord]:
    c1 = Story(1, DAY1, "web", "refund_request").handled(11, agent=1, rating=5)
    c2 = Story(2, DAY1, "web", "shipping_info")
    c3 = Story(3, DAY2, "telegram", "refund_request").handled(13, 2, rating=2, breached=True)
    c4 = Story(4, DAY2, "web", "shipping_info")
    c4.add("ticket_created", ticket=14, queue="billing")
    c4.add("handoff", ticket=14, queue="billing")
    c4.add("ticket_assigned", ticket=14, agent=1, queue="billing")
    c4.add("ticket_transferred", ticket=14, agent=2, queue="billing", from_agent=1, to_agent=2)
    c4.add("ticket_assigned", ticket=14, agent=2, queue="billing")
    c4.add("ticket_resolved", ticket=14, agent=2, queue="billing", seconds=300)
    c4.add("ticket_reopened", ticket=14, agent=2, queue="billing", previous_agent=2)
    c4.add("ticket_assigned", ticket=14, agent=2, queue="billing")
    c4.add("ticket_resolved", ticket=14, agent=2, queue="billing", seconds=900)
    c4.add("csat_recorded", ticket=14, agent=2, queue="billing", rating=4)
    return [e for story in (c4, c2, c3, c1) for e in story.events]


EVERYTHING = ReportFilter()


def report(chosen: ReportFilter = EVERYTHING, days: int | None = 2) -> dict[str, Any]:
    facts = [f for f in facts_by_conversation(events()) if chosen.admits(f.row)]
    return dashboard(sums_in_memory(facts, lambda f: 500_000), {1: "Ada", 2: "Bo"}, days)


def test_summary_counts_every_conversation_once() -> None:
    summary = report()["summary"]
    assert summary["conversations"] == 4
    assert summary["containment"] == 25.0  # only c2 never needed a person
    assert (summary["ratings"], summary["csat"]) == (3, 66.7)
    assert summary["sla_met"] == 66.7  # tickets 11, 13, 14 resolved; 13 breached
    assert summary["predicted"] == 50.0
    assert summary["first_response_avg_s"] == 60.0
    assert summary["resolution_avg_s"] == pytest.approx((600 + 600 + 300 + 900) / 4, abs=0.1)


def test_agents_are_compared_with_peers_by_queue_and_by_intent() -> None:
    ada, bo = report()["performance"]
    assert (ada["tickets_assigned"], ada["tickets_resolved"], ada["transfers"]) == (2, 1, 1)
    assert ada["csat"] == 100.0
    assert ada["csat_vs_peers"] == 33.3  # billing overall: 5, 2, 4 -> 66.7%
    assert ada["csat_vs_intent_peers"] == 50.0  # refund_request overall: 5, 2 -> 50%
    assert (bo["reopen_rate"], bo["sla_met"], bo["csat"]) == (50.0, 50.0, 50.0)
    assert bo["csat_vs_peers"] == -16.7
    assert bo["csat_vs_intent_peers"] == -25.0  # refund 50% and shipping 100%, one rating each


def test_the_agent_score_is_made_of_its_parts() -> None:
    ada, bo = report()["performance"]
    assert ada["score"] == 0.4 * 100 + 0.2 * 100 + 0.2 * 50 + 0.2 * 100
    assert bo["score"] == 0.4 * 50 + 0.2 * 50 + 0.2 * 100 + 0.2 * 50
    parts = {"csat": None, "sla_met": 80.0, "resolution_rate": 40.0, "reopen_rate": None}
    assert score(parts) == 60.0  # without ratings or resolutions the others weigh more
    assert score(dict.fromkeys(parts)) is None


def test_intent_filter_and_handoff_intents() -> None:
    refunds = report(ReportFilter(intent="refund_request"))
    assert refunds["summary"]["conversations"] == 2
    assert [p["name"] for p in refunds["performance"]] == ["Ada", "Bo"]
    assert report()["handoff_intents"] == {"refund_request": 2, "shipping_info": 1}


def test_trends_per_day_and_per_week() -> None:
    trend = report()["trends"]
    assert trend["labels"] == ["2026-11-02", "2026-11-03"]
    assert trend["containment"] == [50.0, 0.0]
    assert trend["volume_by_channel"] == {"web": [2, 1], "telegram": [0, 1]}
    assert trend["volume_by_intent"]["refund_request"] == [1, 1]
    weekly = report(days=90)["trends"]
    assert weekly["step"] == "week" and weekly["labels"] == ["2026-11-02"]


def test_one_conversation_folds_its_waits_and_refuses_mixed_events() -> None:
    facts = conversation_facts(e for e in events() if e.conversation_id == 1)
    assert [w.seconds for w in facts.waits] == [240.0]  # customer wrote at +1 min, reply at +5
    assert facts.measures["handoffs"] == 1
    with pytest.raises(ValueError, match="one conversation"):
        conversation_facts(events())


def test_the_bot_s_part_response_rate_handoffs_kb_answers_and_fallbacks() -> None:
    c1 = Story(21, DAY1, "web", "shipping_info")  # 1st customer message
    c1.add("message_from_bot", cited=True)
    c1.add("message_from_customer", intent="nlu_fallback")  # 2nd: not understood
    c1.add("message_from_bot")
    c1.handled(31, agent=1, rating=5)
    c1.add("message_from_bot", survey=True)
    c2 = Story(22, DAY1, "telegram", "shipping_info")  # 3rd
    c2.add("message_from_bot", cited=True)
    c2.add("message_from_bot", survey=True)  # asked, never answered
    facts = facts_by_conversation(c1.events + c2.events)
    summary = dashboard(sums_in_memory(facts, lambda f: 500_000), {1: "Ada"}, 1)["summary"]
    assert summary["handoff_rate"] == 50.0  # c1 of the two
    assert summary["kb_answer_rate"] == 66.7  # 2 cited answers for 3 customer messages
    assert summary["fallback_rate"] == 33.3  # 1 of 3
    assert summary["response_rate"] == 50.0  # 1 rating for 2 surveys
    assert summary["ratings_refused"] == 0


def test_ratings_refused_are_reported_and_do_not_count() -> None:
    story = Story(23, DAY1, "web", "refund_request").handled(33, agent=1, rating=5)
    story.add("csat_rejected", ticket=33, agent=1, queue="billing", rating=1)  # a second one
    facts = facts_by_conversation(story.events)
    summary = dashboard(sums_in_memory(facts, lambda f: 500_000), {1: "Ada"}, 1)["summary"]
    assert (summary["ratings"], summary["csat"], summary["ratings_refused"]) == (1, 100.0, 1)
