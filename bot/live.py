"""Live updates: a pub/sub hub, fed after each commit with what the commit changed.

Every unit of work runs in `unit_of_work`; a flush listener notes new messages and changed
tickets and conversations, and once the transaction has committed they are published: as the
session committed them where it holds them whole, else read back. Actions never need to know
who is watching. The hub is in-process (`LocalHub`) or fans out through Redis to every worker
(`bot.redis_hub.RedisHub`); the composition root chooses.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from bot.views import message_json, ticket_json
from storage.database import Database
from storage.models import Conversation, Message, Ticket

log = logging.getLogger(__name__)
CONSOLE = "console"
Payload = dict[str, Any]
_CHANGES = "live_changes"
_MESSAGE_CONVERSATIONS = "live_message_conversations"  # of the new messages, noted at the flush


def conversation_topic(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def channel_topic(channel: str) -> str:
    """Every message of every conversation on one channel (for outbound channel adapters)."""
    return f"channel:{channel}"


Resubscribed = Callable[[], Awaitable[None]]


class Hub(ABC):
    """Topics to local subscribers. Backends differ only in how a published payload reaches
    `deliver` in every worker: directly (one process) or through Redis pub/sub (several)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Payload]]] = defaultdict(set)
        self._resubscribed: list[Resubscribed] = []

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[Payload]]:
        queue: asyncio.Queue[Payload] = asyncio.Queue()
        self.attach(topic, queue)
        try:
            yield queue
        finally:
            self.detach(topic, queue)

    def attach(self, topic: str, queue: asyncio.Queue[Payload]) -> None:
        self._subscribers[topic].add(queue)

    def detach(self, topic: str, queue: asyncio.Queue[Payload]) -> None:
        self._subscribers[topic].discard(queue)

    @abstractmethod
    def publish(self, topic: str, payload: Payload) -> None:
        """Hand `payload` to every subscriber of `topic` in every worker; never blocks."""

    def deliver(self, topic: str, payload: Payload) -> None:
        """Put `payload` in the queue of each subscriber of `topic` in this process."""
        for queue in list(self._subscribers.get(topic, ())):
            queue.put_nowait(payload)

    def on_resubscribed(self, callback: Resubscribed) -> None:
        """Call `callback` after updates may have been missed (the backend reconnected), so
        clients can resume from the database."""
        self._resubscribed.append(callback)

    async def _notify_resubscribed(self) -> None:
        for callback in self._resubscribed:
            try:
                await callback()
            except Exception:  # one failing callback must not stop live updates
                log.exception("live updates: a resubscribe callback failed")

    async def start(self) -> None:  # noqa: B027 (optional hook: one process needs none)
        """Begin fanning out (a no-op in one process)."""

    async def close(self) -> None:  # noqa: B027 (optional hook: one process needs none)
        """Stop fanning out and release connections (a no-op in one process)."""

    async def status(self) -> str:
        """ "ok" when updates fan out, else what is wrong; for /health."""
        return "ok"


class LocalHub(Hub):
    """One process: a publish is delivered at once, to this process's subscribers."""

    def publish(self, topic: str, payload: Payload) -> None:
        self.deliver(topic, payload)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _flush: UOWTransaction) -> None:
    changes = session.info.setdefault(_CHANGES, defaultdict(dict))
    for obj in session.new:
        if isinstance(obj, Message):
            changes[Message][obj.id] = obj
            session.info.setdefault(_MESSAGE_CONVERSATIONS, set()).add(obj.conversation_id)
        elif isinstance(obj, Ticket | Conversation):
            changes[type(obj)][obj.id] = obj
    for obj in session.dirty:  # a conversation's status is what its subscribers are told
        if isinstance(obj, Ticket) or (
            isinstance(obj, Conversation) and inspect(obj).attrs.status.history.has_changes()
        ):
            changes[type(obj)][obj.id] = obj


@asynccontextmanager
async def unit_of_work(db: Database, hub: Hub, csat_question: str) -> AsyncIterator[AsyncSession]:
    """A committed transaction whose changes are then published to the hub."""
    async with db.writing(), db.session() as session:
        async with session.begin():
            yield session
            scopes = await _ticket_scopes(session)
        changes = session.info.pop(_CHANGES, None)
        known = _committed(session, changes) if changes else {}
    if changes:
        await publish_changes(db, hub, changes, known, csat_question, scopes=scopes)


Scopes = dict[int, Payload | None]  # conversation id -> its newest ticket's scope, or None


async def _ticket_scopes(session: AsyncSession) -> Scopes:
    """The newest ticket of each conversation with a new message, read before the commit: the
    console hears of a message in a ticket's scope. Inside the transaction the read is part of
    the writer's work (on SQLite, on the event loop's thread); after it, it took a session of
    its own and a round trip to the database's thread for every step."""
    await session.flush()  # everything the transaction changes is in the changes from here on
    scopes: Scopes = {}
    for conversation_id in sorted(session.info.pop(_MESSAGE_CONVERSATIONS, ())):
        newest = await session.execute(_NEWEST_TICKET_SCOPE, {"conversation_id": conversation_id})
        row = newest.first()
        scopes[conversation_id] = None if row is None else ticket_scope(row)
    return scopes


# The scope's three columns, not the ticket: a Ticket loads its queue, assignee and
# conversation with it, which made this read about a tenth of a turn's CPU in the serving process.
_NEWEST_TICKET_SCOPE = (
    select(Ticket.id, Ticket.queue_id, Ticket.assignee_id)
    .where(Ticket.conversation_id == bindparam("conversation_id"))
    .order_by(Ticket.id.desc())
    .limit(1)
)


Changes = dict[type, dict[int, Any]]
Known = dict[Any, Any]  # identity key -> object as committed


def _committed(session: AsyncSession, changes: Changes) -> Known:
    """New messages, and the conversations of the changes, as the committed session holds
    them (expire_on_commit is off, so they are what was committed), to publish without reading
    them back: a message with every attribute and relationship loaded, a conversation with its
    status and channel. Objects flushed in a savepoint that was later rolled back have no
    identity and are left out, as are ones with expired attributes; those are read back.
    Tickets are always read back (their payload reads relationships of relationships)."""
    known: Known = {}

    def keep(obj: Any, reads: set[str] | None) -> bool:
        """Keep `obj` if it was committed with `reads` loaded (None: everything)."""
        state = inspect(obj)
        missing = state.unloaded if reads is None else state.unloaded & reads
        if state.has_identity and not state.deleted and not missing:
            known[state.identity_key] = obj
            return True
        return False

    conversations = list(changes.get(Conversation, {}).values())
    for message in changes.get(Message, {}).values():
        if not keep(message, None):
            continue  # read back, with its conversation
        key = Session.identity_key(Conversation, message.conversation_id)
        if key in session.identity_map:
            conversations.append(session.identity_map[key])
    for conversation in conversations:
        keep(conversation, {"status", "channel"})
    return known


async def publish_changes(
    db: Database, hub: Hub, changes: Changes, known: Known, csat_question: str, *, scopes: Scopes
) -> None:
    """Publish what a transaction changed. The session reads back only what `known` lacks; when
    it holds everything, the session never takes a connection."""
    async with db.session() as session:
        tickets = await _by_id(session, Ticket, changes.get(Ticket, {}), known)
        conversations = await _by_id(session, Conversation, changes.get(Conversation, {}), known)
        messages = await _by_id(session, Message, changes.get(Message, {}), known)
        for conversation in conversations:
            hub.publish(
                conversation_topic(conversation.id),
                {"kind": "status", "status": conversation.status},
            )
        for ticket in tickets:
            hub.publish(
                CONSOLE,
                {"kind": "ticket", "scope": ticket_scope(ticket), "data": ticket_json(ticket)},
            )
        for message in messages:
            survey = bool((message.extras or {}).get("csat_request"))
            data = message_json(message, with_nlu=True)
            topic = conversation_topic(message.conversation_id)
            if survey:
                hub.publish(topic, {"kind": "csat_request", "question": csat_question})
            else:
                hub.publish(topic, {"kind": "message", "message": data})
            conversation_id = message.conversation_id
            conversation = known.get(Session.identity_key(Conversation, conversation_id))
            conversation = conversation or await session.get(Conversation, conversation_id)
            if conversation is not None:
                outbound = {"kind": "message", "message": data, "csat_request": survey}
                hub.publish(channel_topic(conversation.channel), outbound)
            scope = scopes.get(conversation_id)
            if scope is not None:
                hub.publish(CONSOLE, {"kind": "message", "scope": scope, "data": data})


async def _by_id(
    session: AsyncSession, model: Any, changed: dict[int, Any], known: Known
) -> list[Any]:
    """The changed objects of `model` in id order: as committed where known, else read back."""
    found = {}
    missing = set()
    for id_ in changed:
        obj = known.get(Session.identity_key(model, id_))
        if obj is None:
            missing.add(id_)
        else:
            found[id_] = obj
    if missing:
        rows = await session.scalars(select(model).where(model.id.in_(missing)))
        found.update((row.id, row) for row in rows)
    return [found[id_] for id_ in sorted(found)]


def ticket_scope(ticket: Ticket | Row[int, int, int | None]) -> Payload:
    """What the access check needs to decide who may see a ticket's updates."""
    return {"id": ticket.id, "queue_id": ticket.queue_id, "assignee_id": ticket.assignee_id}
