"""One row per conversation, rebuilt from the event log: what happened, how fast, how rated."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from scoring.quality import EventRecord, csat


@dataclass(frozen=True)
class ConversationRow:
    conversation_id: int
    started_at: datetime
    channel: str | None = None
    intent: str | None = None  # the customer's first understood intent
    ticket_id: int | None = None
    queue: str | None = None
    agent_id: int | None = None
    handed_off: bool = False
    resolved: bool = False
    first_response_s: float | None = None
    resolution_s: float | None = None
    rating: int | None = None
    customer_messages: int = 0
    sentiment_start: float | None = None  # -1 .. 1, the customer's first message
    sentiment_end: float | None = None  # the customer's latest message


@dataclass(frozen=True)
class ReportFilter:
    """Which conversations a report covers; None means no restriction."""

    since: datetime | None = None
    until: datetime | None = None
    queue: str | None = None
    agent_id: int | None = None
    channel: str | None = None
    intent: str | None = None

    def admits(self, row: ConversationRow) -> bool:
        checks = (
            self.since is None or row.started_at >= self.since,
            self.until is None or row.started_at < self.until,
            self.queue is None or row.queue == self.queue,
            self.agent_id is None or row.agent_id == self.agent_id,
            self.channel is None or row.channel == self.channel,
            self.intent is None or row.intent == self.intent,
        )
        return all(checks)


@dataclass(frozen=True)
class BotPerformance:
    conversations: int
    handed_off: int
    containment: float | None  # % of conversations that never needed a person
    csat: float | None
    ratings: int
    handoff_intents: dict[str, int] = field(default_factory=dict)  # intent -> handoffs, most first


def conversation_rows(events: Iterable[EventRecord]) -> list[ConversationRow]:
    """Fold the events, oldest first, into one row per conversation."""
    rows: dict[int, ConversationRow] = {}
    for event in sorted(events, key=lambda e: e.created_at):
        if event.conversation_id is None:
            continue
        row = rows.get(event.conversation_id) or ConversationRow(
            event.conversation_id, event.created_at
        )
        rows[event.conversation_id] = _apply(row, event)
    return sorted(rows.values(), key=lambda r: r.conversation_id)


def _apply(row: ConversationRow, event: EventRecord) -> ConversationRow:
    fold = _FOLDS.get(event.type)
    return fold(row, event) if fold is not None else row


def _started(row: ConversationRow, event: EventRecord) -> ConversationRow:
    return replace(row, channel=event.payload.get("channel"))


def _customer_message(row: ConversationRow, event: EventRecord) -> ConversationRow:
    sentiment = event.payload.get("sentiment")
    mood = float(sentiment) if isinstance(sentiment, int | float) else None
    row = replace(
        row,
        customer_messages=row.customer_messages + 1,
        sentiment_start=row.sentiment_start if row.sentiment_start is not None else mood,
        sentiment_end=mood if mood is not None else row.sentiment_end,
    )
    if row.intent is not None or not _understood(event.payload):
        return row
    return replace(row, intent=event.payload["intent"])


def _ticket_created(row: ConversationRow, event: EventRecord) -> ConversationRow:
    return replace(row, ticket_id=event.ticket_id, queue=event.queue)


def _handoff(row: ConversationRow, event: EventRecord) -> ConversationRow:
    return replace(row, handed_off=True, queue=event.queue or row.queue)


def _assigned(row: ConversationRow, event: EventRecord) -> ConversationRow:
    return replace(row, agent_id=event.agent_id)


def _first_response(row: ConversationRow, event: EventRecord) -> ConversationRow:
    if row.first_response_s is not None:
        return row
    return replace(row, first_response_s=float(event.payload["seconds"]))


def _resolved(row: ConversationRow, event: EventRecord) -> ConversationRow:
    return replace(row, resolved=True, resolution_s=float(event.payload["seconds"]))


def _rated(row: ConversationRow, event: EventRecord) -> ConversationRow:
    return row if row.rating is not None else replace(row, rating=int(event.payload["rating"]))


_FOLDS: dict[str, Callable[[ConversationRow, EventRecord], ConversationRow]] = {
    "conversation_started": _started,
    "message_from_customer": _customer_message,
    "ticket_created": _ticket_created,
    "handoff": _handoff,
    "ticket_assigned": _assigned,
    "first_response": _first_response,
    "ticket_resolved": _resolved,
    "csat_recorded": _rated,
}


def _understood(payload: dict[str, object]) -> bool:
    intent = payload.get("intent")
    return isinstance(intent, str) and intent != "nlu_fallback"


def bot_performance(rows: Iterable[ConversationRow]) -> BotPerformance:
    """Containment, handoffs and their intents, and CSAT over the given conversations."""
    chosen = list(rows)
    handed = [r for r in chosen if r.handed_off]
    ratings = [r.rating for r in chosen if r.rating is not None]
    by_intent: dict[str, int] = {}
    for row in handed:
        key = row.intent or "(not understood)"
        by_intent[key] = by_intent.get(key, 0) + 1
    return BotPerformance(
        conversations=len(chosen),
        handed_off=len(handed),
        containment=100.0 * (len(chosen) - len(handed)) / len(chosen) if chosen else None,
        csat=csat(ratings),
        ratings=len(ratings),
        handoff_intents=dict(sorted(by_intent.items(), key=lambda kv: (-kv[1], kv[0]))),
    )
