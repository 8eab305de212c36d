"""What one conversation contributes to the reports, folded once from its events: its row, the
counts and sums every report figure is made of, and the part each agent played in it.

Every measure is an integer (durations in milliseconds, predicted satisfaction in millionths), so
adding the measures of many conversations, in any order and in any store, gives exact totals:
a report over a million conversations is a sum of these, never a re-reading of their events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from scoring.conversations import ConversationRow, conversation_rows
from scoring.quality import SATISFIED_MIN_RATING, EventRecord

FALLBACK_INTENT = "nlu_fallback"  # Rasa's (and the NLU's) intent for "none of them"
MEASURES = (
    "conversations",
    "handed_off",
    "contained",  # 1 when nobody had to step in
    "resolved",
    "ratings",
    "satisfied",  # ratings of 4 or 5
    "tickets_resolved",
    "first_response_ms",
    "first_response_n",
    "resolution_ms",
    "resolution_n",
    "sla_met",  # resolved tickets whose SLA clocks never breached
    "sla_total",  # resolved tickets
    "predicted_micro",  # P(satisfied) x 1,000,000, rounded
    "handoffs",
    "transfers",
    "reopens",
    "messages_in",  # customer messages
    "fallbacks",  # customer messages the NLU could not place (nlu_fallback)
    "kb_answers",  # bot answers from the knowledge base, with their citation
    "surveys",  # ratings asked for
    "ratings_refused",  # ratings that came late, twice or for another conversation (not counted)
)
AGENT_MEASURES = (
    "assigned",  # tickets assigned to the agent
    "resolved",  # tickets the agent resolved
    "handle_ms",  # assignment to resolution
    "handle_n",
    "first_response_ms",
    "first_response_n",
    "reply_ms",  # every reply: from the customer's first unanswered message
    "reply_n",
    "resolution_ms",  # ticket creation to resolution, for tickets the agent resolved
    "resolution_n",
    "reopened",  # tickets the agent resolved that the customer reopened
    "transfers",  # tickets the agent passed on
    "sla_met",
    "ratings",
    "satisfied",
)
Measures = dict[str, int]


@dataclass(frozen=True)
class Wait:
    """The customer waited `seconds` from `since` until a person (`agent_id`) answered."""

    since: datetime
    seconds: float
    agent_id: int


@dataclass(frozen=True)
class ConversationFacts:
    row: ConversationRow
    measures: Measures  # MEASURES except predicted_micro, which needs a model
    agents: dict[int, Measures] = field(default_factory=dict)  # agent id -> AGENT_MEASURES
    waits: list[Wait] = field(default_factory=list)

    @property
    def day(self) -> date:
        return self.row.started_at.date()


def zero(names: tuple[str, ...] = MEASURES) -> Measures:
    return dict.fromkeys(names, 0)


def add_into(total: Measures, part: Measures) -> Measures:
    for name, value in part.items():
        total[name] = total.get(name, 0) + value
    return total


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def conversation_facts(events: Iterable[EventRecord]) -> ConversationFacts:
    """Fold one conversation's events (any order); raises ValueError when there are none."""
    ordered = sorted(events, key=lambda e: e.created_at)
    rows = conversation_rows(ordered)
    if len(rows) != 1:
        raise ValueError(f"expected the events of one conversation, got {len(rows)}")
    fold = _Fold()
    for event in ordered:
        fold.add(event)
    return fold.facts(rows[0])


def facts_by_conversation(events: Iterable[EventRecord]) -> list[ConversationFacts]:
    """The facts of every conversation the events mention, by conversation id."""
    grouped: dict[int, list[EventRecord]] = defaultdict(list)
    for event in events:
        if event.conversation_id is not None:
            grouped[event.conversation_id].append(event)
    return [conversation_facts(grouped[c]) for c in sorted(grouped)]


class _Fold:
    def __init__(self) -> None:
        self.totals = zero()
        self.agents: dict[int, Measures] = defaultdict(lambda: zero(AGENT_MEASURES))
        self.resolved: set[int] = set()
        self.breached: set[int] = set()
        self.assigned: dict[int, set[int]] = defaultdict(set)
        self.assigned_at: dict[tuple[int, int], datetime] = {}
        self.resolved_by: dict[int, set[int]] = defaultdict(set)
        self.waiting_since: datetime | None = None
        self.waits: list[Wait] = []

    def add(self, e: EventRecord) -> None:
        handler = getattr(self, f"_on_{e.type}", None)
        if handler is not None:
            handler(e)

    def _count(self, name: str) -> None:
        self.totals[name] += 1

    def _on_handoff(self, e: EventRecord) -> None:
        self._count("handoffs")

    def _on_ticket_transferred(self, e: EventRecord) -> None:
        self._count("transfers")
        if isinstance(e.payload.get("from_agent"), int):
            self.agents[e.payload["from_agent"]]["transfers"] += 1

    def _on_ticket_reopened(self, e: EventRecord) -> None:
        self._count("reopens")
        if isinstance(e.payload.get("previous_agent"), int):
            self.agents[e.payload["previous_agent"]]["reopened"] += 1

    def _on_sla_breached(self, e: EventRecord) -> None:
        if e.ticket_id is not None:
            self.breached.add(e.ticket_id)

    def _on_message_from_customer(self, e: EventRecord) -> None:
        self._count("messages_in")
        if e.payload.get("intent") == FALLBACK_INTENT:
            self._count("fallbacks")
        if self.waiting_since is None:
            self.waiting_since = e.created_at

    def _on_message_from_bot(self, e: EventRecord) -> None:
        if e.payload.get("cited"):
            self._count("kb_answers")
        if e.payload.get("survey"):
            self._count("surveys")

    def _on_message_from_agent(self, e: EventRecord) -> None:
        since, self.waiting_since = self.waiting_since, None
        if since is None or e.agent_id is None:
            return
        seconds = (e.created_at - since).total_seconds()
        self.waits.append(Wait(since, seconds, e.agent_id))
        part = self.agents[e.agent_id]
        part["reply_ms"] += ms(seconds)
        part["reply_n"] += 1

    def _on_ticket_assigned(self, e: EventRecord) -> None:
        if e.agent_id is None or e.ticket_id is None:
            return
        _ = self.agents[e.agent_id]  # an assigned agent has a part, even if it is all zeros
        self.assigned[e.agent_id].add(e.ticket_id)
        self.assigned_at[(e.agent_id, e.ticket_id)] = e.created_at

    def _on_first_response(self, e: EventRecord) -> None:
        took = ms(float(e.payload["seconds"]))
        self.totals["first_response_ms"] += took
        self.totals["first_response_n"] += 1
        if e.agent_id is not None and e.ticket_id is not None:
            self.agents[e.agent_id]["first_response_ms"] += took
            self.agents[e.agent_id]["first_response_n"] += 1

    def _on_ticket_resolved(self, e: EventRecord) -> None:
        took = ms(float(e.payload["seconds"]))
        self.totals["resolution_ms"] += took
        self.totals["resolution_n"] += 1
        if e.ticket_id is not None:
            self.resolved.add(e.ticket_id)
        if e.agent_id is None or e.ticket_id is None:
            return
        part = self.agents[e.agent_id]
        self.resolved_by[e.agent_id].add(e.ticket_id)
        part["resolution_ms"] += took
        part["resolution_n"] += 1
        start = self.assigned_at.get((e.agent_id, e.ticket_id))
        if start is not None:
            part["handle_ms"] += ms((e.created_at - start).total_seconds())
            part["handle_n"] += 1

    def _on_csat_rejected(self, e: EventRecord) -> None:
        self._count("ratings_refused")

    def _on_csat_recorded(self, e: EventRecord) -> None:
        good = int(int(e.payload["rating"]) >= SATISFIED_MIN_RATING)
        self.totals["ratings"] += 1
        self.totals["satisfied"] += good
        if e.agent_id is not None and e.ticket_id is not None:
            self.agents[e.agent_id]["ratings"] += 1
            self.agents[e.agent_id]["satisfied"] += good

    def facts(self, row: ConversationRow) -> ConversationFacts:
        totals = self.totals
        totals["conversations"] = 1
        totals["handed_off"] = int(row.handed_off)
        totals["contained"] = int(not row.handed_off)
        totals["resolved"] = int(row.resolved)
        totals["tickets_resolved"] = len(self.resolved)
        totals["sla_total"] = len(self.resolved)
        totals["sla_met"] = len(self.resolved - self.breached)
        for agent, part in self.agents.items():
            part["assigned"] = len(self.assigned[agent])
            part["resolved"] = len(self.resolved_by[agent])
            part["sla_met"] = len(self.resolved_by[agent] - self.breached)
        del totals["predicted_micro"]
        return ConversationFacts(row, totals, dict(self.agents), self.waits)
