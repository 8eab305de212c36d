"""What a committed unit of work publishes: every new message and changed conversation once, as
stored, in id order; nothing that a rolled-back savepoint took back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import add_message, open_conversation
from bot.live import LocalHub, Payload, channel_topic, conversation_topic, unit_of_work
from bot.views import message_json
from storage.database import Database
from storage.models import Conversation, Message

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
