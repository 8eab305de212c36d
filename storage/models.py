"""SQLAlchemy 2 models: customers, conversations, messages, tickets, agents, ratings, events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")


_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("helpline_clock", default=None)


def utcnow() -> datetime:
    """Now, in UTC; inside `clock(...)` the time that clock gives (simulated histories)."""
    override = _clock.get()
    return override() if override is not None else datetime.now(UTC)


@contextmanager
def clock(now: Callable[[], datetime]) -> Iterator[None]:
    """Run the code inside with `now` as the current time (for simulations, never for serving)."""
    token = _clock.set(now)
    try:
        yield
    finally:
        _clock.reset(token)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        # SQLite keeps only the wall clock, so store every instant as its UTC wall clock.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A person who works in helpline: agent, supervisor or admin."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # agent | supervisor | admin
    status: Mapped[str] = mapped_column(String(16), default="offline")  # online | away | offline
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # skill -> level
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: any language
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queues: Mapped[list[Queue]] = relationship(secondary="agent_queues", lazy="selectin")


class Queue(Base):
    __tablename__ = "queues"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)  # every agent needs these
    strategy: Mapped[str] = mapped_column(String(16), default="least_busy")  # | round_robin
    # Whether an agent going offline hands back the tickets of this queue not yet answered.
    offline_hand_back: Mapped[bool] = mapped_column(Boolean, default=True)
    sla: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # routing.sla.SlaPolicy as JSON


class AgentQueue(Base):
    __tablename__ = "agent_queues"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), primary_key=True)


class LoginSession(Base):
    __tablename__ = "login_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(128))
    tier: Mapped[str | None] = mapped_column(String(16))  # e.g. vip; priority and routing rules
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelIdentity(Base):
    """How a customer is known on one channel (a widget session, a Telegram chat, a REST sender)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_user_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_user_id: Mapped[str] = mapped_column(String(255))


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    # bot | waiting | with_agent | awaiting_rating | closed
    status: Mapped[str] = mapped_column(String(16), default="bot")
    unclear_count: Mapped[int] = mapped_column(Integer, default=0)
    last_intent: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    customer: Mapped[Customer] = relationship(lazy="joined")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    # customer | bot | agent | system | note (internal: never shown to the customer)
    sender: Mapped[str] = mapped_column(String(16))
    sender_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    intent: Mapped[str | None] = mapped_column(String(64))
    intent_confidence: Mapped[float | None] = mapped_column(Float)
    entities: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    sentiment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    extras: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # citations, buttons
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sender_user: Mapped[User | None] = relationship(lazy="joined")
    attachments: Mapped[list[Attachment]] = relationship(lazy="selectin", order_by="Attachment.id")


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16), default="normal")  # low|normal|high|urgent
    # new | open | pending | resolved | closed
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # skill -> minimum level
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SLA clocks already escalated or breached, so each event is written once: {"breached:..": at}
    sla_marks: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    queue: Mapped[Queue] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(lazy="joined")
    conversation: Mapped[Conversation] = relationship(lazy="joined")


class Order(Base):
    """The demo shop's orders, for the order-status lookup action."""

    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))  # placed | shipped | delivered | cancelled
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    estimated_delivery: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assignment(Base):
    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CsatResponse(Base):
    __tablename__ = "csat_responses"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """Append-only log of what happened; every report is computed from it."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    queue: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditLog(Base):
    """Who changed what, when: one row per action."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # customer | agent | bot | system
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(Base):
    """A file sent with a message; its bytes are in the file store under `storage_key`."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))  # sanitised; never a path
    content_type: Mapped[str] = mapped_column(String(64))  # sniffed from the bytes
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KbArticle(Base):
    """A knowledge-base article; the bot answers from the published ones."""

    __tablename__ = "kb_articles"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)  # Markdown
    url: Mapped[str] = mapped_column(String(512))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)  # | published
    source: Mapped[str] = mapped_column(String(512))  # the file it was imported from, or console
    content_hash: Mapped[str] = mapped_column(String(64))  # of title, body, url, tags, language
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CannedResponse(Base):
    """A saved reply agents insert in the console by its shortcut (`/refund-policy`)."""

    __tablename__ = "canned_responses"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Report read-models, kept from the event log by bot/report_store.py. Every measure column is
# an exact integer sum (durations in ms, predicted satisfaction in millionths), so any report
# figure is a sum over rows. Their names match scoring.facts.MEASURES / AGENT_MEASURES.


class ReportDirty(Base):
    """A conversation whose events changed since its report rows were computed. A trigger on
    `events` (migration 0005) adds a row for every event with a conversation, in the event's
    own transaction; the report refresh recomputes those conversations and deletes the rows."""

    __tablename__ = "report_dirty"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(BigInteger, index=True)


class ConversationMeasures:
    """What conversations came to, as whole numbers that add up exactly (milliseconds, counts,
    millionths): the measures of one conversation and of their daily rollups."""

    conversations: Mapped[int] = mapped_column(BigInteger)
    handed_off: Mapped[int] = mapped_column(BigInteger)
    contained: Mapped[int] = mapped_column(BigInteger)
    resolved: Mapped[int] = mapped_column(BigInteger)
    ratings: Mapped[int] = mapped_column(BigInteger)
    satisfied: Mapped[int] = mapped_column(BigInteger)
    tickets_resolved: Mapped[int] = mapped_column(BigInteger)
    first_response_ms: Mapped[int] = mapped_column(BigInteger)
    first_response_n: Mapped[int] = mapped_column(BigInteger)
    resolution_ms: Mapped[int] = mapped_column(BigInteger)
    resolution_n: Mapped[int] = mapped_column(BigInteger)
    sla_met: Mapped[int] = mapped_column(BigInteger)
    sla_total: Mapped[int] = mapped_column(BigInteger)
    predicted_micro: Mapped[int] = mapped_column(BigInteger)
    handoffs: Mapped[int] = mapped_column(BigInteger)
    transfers: Mapped[int] = mapped_column(BigInteger)
    reopens: Mapped[int] = mapped_column(BigInteger)
    messages_in: Mapped[int] = mapped_column(BigInteger)
    fallbacks: Mapped[int] = mapped_column(BigInteger)
    kb_answers: Mapped[int] = mapped_column(BigInteger)
    surveys: Mapped[int] = mapped_column(BigInteger)
    ratings_refused: Mapped[int] = mapped_column(BigInteger)


class ReportConversation(ConversationMeasures, Base):
    """One conversation folded once: its row for the drill-down and its measures."""

    __tablename__ = "report_conversations"
    conversation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, index=True)  # the UTC day it started
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queue: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(BigInteger)  # the last agent assigned
    channel: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    rating: Mapped[int | None] = mapped_column(Integer)
    first_response_s: Mapped[float | None] = mapped_column(Float)
    resolution_s: Mapped[float | None] = mapped_column(Float)
    customer_messages: Mapped[int] = mapped_column(Integer)
    sentiment_start: Mapped[float | None] = mapped_column(Float)
    sentiment_end: Mapped[float | None] = mapped_column(Float)


class AgentMeasures:
    """What agents did, as whole numbers that add up exactly (milliseconds, counts): the
    measures of one agent's part in a conversation and of their daily rollups."""

    assigned: Mapped[int] = mapped_column(BigInteger)
    resolved: Mapped[int] = mapped_column(BigInteger)
    handle_ms: Mapped[int] = mapped_column(BigInteger)
    handle_n: Mapped[int] = mapped_column(BigInteger)
    first_response_ms: Mapped[int] = mapped_column(BigInteger)
    first_response_n: Mapped[int] = mapped_column(BigInteger)
    reply_ms: Mapped[int] = mapped_column(BigInteger)
    reply_n: Mapped[int] = mapped_column(BigInteger)
    resolution_ms: Mapped[int] = mapped_column(BigInteger)
    resolution_n: Mapped[int] = mapped_column(BigInteger)
    reopened: Mapped[int] = mapped_column(BigInteger)
    transfers: Mapped[int] = mapped_column(BigInteger)
    sla_met: Mapped[int] = mapped_column(BigInteger)
    ratings: Mapped[int] = mapped_column(BigInteger)
    satisfied: Mapped[int] = mapped_column(BigInteger)


class ReportAgentPart(AgentMeasures, Base):
    """The part one agent played in one conversation, with the conversation's dimensions."""

    __tablename__ = "report_agent_parts"
    conversation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    agent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queue: Mapped[str | None] = mapped_column(String(64))
    conversation_agent_id: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(64))


class ReportRollup(ConversationMeasures, Base):
    """report_conversations summed per day x queue x agent x channel x intent."""

    __tablename__ = "report_rollups"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(BigInteger)  # the rows it sums


class ReportAgentRollup(AgentMeasures, Base):
    """report_agent_parts summed per day x queue x conversation agent x channel x intent x
    agent."""

    __tablename__ = "report_agent_rollups"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    conversation_agent_id: Mapped[int | None] = mapped_column(BigInteger)
    channel: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(BigInteger)  # the rows it sums


class ReportModel(Base):
    """The satisfaction model the stored predictions were made with (one row, id 1)."""

    __tablename__ = "report_model"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    weights: Mapped[dict[str, float]] = mapped_column(JSON)
    learned_from: Mapped[int] = mapped_column(Integer)  # 0: the documented prior
    rated_at_fit: Mapped[int] = mapped_column(Integer)  # rated conversations when it was fitted
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
