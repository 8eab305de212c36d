"""What a committed unit of work publishes: every new message and changed conversation once, as
stored, in id order; nothing that a rolled-back savepoint took back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import add_message, open_conversation
from bot.live import (
    CONSOLE,
    LocalHub,
    Payload,
    channel_topic,
    conversation_topic,
    unit_of_work,
)
from bot.views import message_json
from storage.database import Database
from storage.models import Conversation, Message, Queue, Ticket

QUESTION = "How did we do?"


async def opened(db: Database, hub: LocalHub, sender: str) -> int:
    """A conversation started in a unit of work of its own, before anyone subscribes."""
    async with unit_of_work(db, hub, QUESTION) as session:
        return (await open_conversation(session, "rest", sender)).id


def drained(queue: asyncio.Queue[Payload]) -> list[Payload]:
    return [queue.get_nowait() for _ in range(queue.qsize())]


async def stored_json(db: Database, conversation_id: int) -> list[dict[str, object]]:
    async with db.session() as session:
        rows = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
        return [message_json(m, with_nlu=True) for m in rows]


async def test_a_turn_publishes_its_messages_as_stored_in_order(db: Database) -> None:
    hub = LocalHub()
    conversation_id = await opened(db, hub, "ada")
    async with (
        hub.subscribe(conversation_topic(conversation_id)) as mine,
        hub.subscribe(channel_topic("rest")) as channel,
    ):
        async with unit_of_work(db, hub, QUESTION) as session:
            conversation = await open_conversation(session, "rest", "ada")
            notes = {"intent": "order_status", "confidence": 0.9, "entities": [], "sentiment": {}}
            await add_message(session, conversation, "customer", "Where is 42?", annotations=notes)
            reply = {"citations": [{"title": "Orders", "url": "/kb/orders"}]}
            await add_message(session, conversation, "bot", "On its way.", extras=reply)
            conversation.status = "waiting"
        published, outbound = drained(mine), drained(channel)
    stored = await stored_json(db, conversation_id)
    assert published == [
        {"kind": "status", "status": "waiting"},
        *({"kind": "message", "message": m} for m in stored),
    ]
    assert [p["message"] for p in outbound] == stored
    assert [m["text"] for m in stored] == ["Where is 42?", "On its way."]
    assert stored[0]["nlu"]["intent"] == "order_status"  # type: ignore[index]


Turn = Callable[[AsyncSession, Conversation], Awaitable[None]]


async def published_by(db: Database, sender: str, turn: Turn) -> tuple[int, list[Payload]]:
    """What a unit of work running `turn` in `sender`'s conversation published on its topic."""
    hub = LocalHub()
    conversation_id = await opened(db, hub, sender)
    async with hub.subscribe(conversation_topic(conversation_id)) as mine:
        async with unit_of_work(db, hub, QUESTION) as session:
            await turn(session, await open_conversation(session, "rest", sender))
        return conversation_id, drained(mine)


async def test_a_conversation_is_published_when_its_status_changes_not_its_other_columns(
    db: Database,
) -> None:
    """Browsers show the status; the bot's bookkeeping (topic, unclear count) changes nearly
    every turn and must not cost each open widget a frame."""

    async def answered(session: AsyncSession, conversation: Conversation) -> None:
        await add_message(session, conversation, "customer", "and shipping?")
        conversation.last_intent, conversation.unclear_count = "shipping", 1

    async def handed_off(session: AsyncSession, conversation: Conversation) -> None:
        await add_message(session, conversation, "customer", "a person, please")
        conversation.last_intent, conversation.status = "human_handoff", "waiting"

    _, published = await published_by(db, "cy", answered)
    assert [p["kind"] for p in published] == ["message"]
    _, published = await published_by(db, "di", handed_off)
    assert [p["kind"] for p in published] == ["status", "message"]
    assert published[0]["status"] == "waiting"


async def test_a_message_taken_back_by_its_savepoint_is_not_published(db: Database) -> None:
    async def turn(session: AsyncSession, conversation: Conversation) -> None:
        savepoint = await session.begin_nested()
        await add_message(session, conversation, "customer", "never mind")
        await savepoint.rollback()
        await add_message(session, conversation, "customer", "kept")

    conversation_id, published = await published_by(db, "bo", turn)
    assert [p["message"]["text"] for p in published] == ["kept"]
    assert [m["text"] for m in await stored_json(db, conversation_id)] == ["kept"]


async def test_an_expired_message_is_read_back_before_it_is_published(db: Database) -> None:
    async def turn(session: AsyncSession, conversation: Conversation) -> None:
        message, _ = await add_message(session, conversation, "customer", "first words")
        await session.flush()
        session.expire(message)

    conversation_id, published = await published_by(db, "cy", turn)
    assert [p["message"] for p in published] == await stored_json(db, conversation_id)
    assert published[0]["message"]["text"] == "first words"


async def test_the_console_hears_of_messages_in_a_tickets_scope_without_a_second_read(
    db: Database,
) -> None:
    hub = LocalHub()
    with_ticket = await opened(db, hub, "di")
    async with unit_of_work(db, hub, QUESTION) as session:
        session.add(Queue(id=7, name="billing"))
        await session.flush()
        for n in (1, 2):  # the newest ticket is the one whose scope counts
            session.add(Ticket(conversation_id=with_ticket, idempotency_key=f"di-{n}",
                               subject="help", queue_id=7))  # fmt: skip
            await session.flush()
    checkouts: list[object] = []
    event.listen(db.engine.sync_engine, "checkout", lambda *args: checkouts.append(args))
    async with hub.subscribe(CONSOLE) as console:
        for sender in ("di", "ed"):  # "ed" has no ticket: the console hears nothing of it
            async with unit_of_work(db, hub, QUESTION) as session:
                conversation = await open_conversation(session, "rest", sender)
                await add_message(session, conversation, "customer", f"{sender} here")
        heard = drained(console)
    assert [(p["scope"], p["data"]["text"]) for p in heard] == [
        ({"id": 2, "queue_id": 7, "assignee_id": None}, "di here")
    ]
    assert len(checkouts) == 2  # one connection for each unit of work, none to publish it
