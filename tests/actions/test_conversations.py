"""open_conversation, find_open_conversation and add_message, read back from the database."""

from __future__ import annotations

from sqlalchemy import select

from actions.conversations import (
    add_message,
    find_open_conversation,
    get_conversation,
    has_open_conversation,
    open_conversation,
    set_conversation_status,
)
from actions.record import SYSTEM
from storage.database import Database
from storage.models import ChannelIdentity, Conversation, Customer, Message
from tests.actions.support import (
    count_rows,
    read_audit,
    read_events,
    read_messages,
    start_conversation,
    table_sizes,
)


async def test_open_conversation_creates_customer_identity_and_conversation(db: Database) -> None:
    async with db.session() as session, session.begin():
        conversation = await open_conversation(session, "telegram", "chat-42", "Ana Lima")

    async with db.session() as session:
        identity = await session.scalar(select(ChannelIdentity))
        customer = await session.scalar(select(Customer))
        stored = await session.get(Conversation, conversation.id)
    assert identity is not None
    assert customer is not None
    assert stored is not None
    assert (identity.channel, identity.external_user_id) == ("telegram", "chat-42")
    assert identity.customer_id == customer.id == stored.customer_id
    assert customer.display_name == "Ana Lima"
    assert (stored.channel, stored.status) == ("telegram", "bot")
    [started] = await read_events(db, "conversation_started")
    assert started.conversation_id == conversation.id
    assert started.payload == {"channel": "telegram"}
    assert len(await read_audit(db, "start_conversation")) == 1


async def test_an_anonymous_customer_is_named_after_their_id(db: Database) -> None:
    async with db.session() as session, session.begin():
        conversation = await open_conversation(session, "web", "visitor-1")

    assert conversation.customer.display_name == f"Visitor {conversation.customer_id}"


async def test_the_same_sender_gets_the_same_conversation(db: Database) -> None:
    first = await start_conversation(db, "ana")
    sizes = await table_sizes(db)

    second = await start_conversation(db, "ana")

    assert second == first
    assert await table_sizes(db) == sizes


async def test_the_same_sender_on_another_channel_is_another_customer(db: Database) -> None:
    rest = await start_conversation(db, "ana", channel="rest")
    telegram = await start_conversation(db, "ana", channel="telegram")

    assert rest != telegram
    assert await count_rows(db, Customer) == 2


async def test_a_closed_conversation_leads_to_a_new_one_for_the_same_customer(db: Database) -> None:
    first = await start_conversation(db, "ana")
    async with db.session() as session, session.begin():
        await set_conversation_status(
            session, await get_conversation(session, first), "closed", SYSTEM
        )

    second = await start_conversation(db, "ana")

    assert second != first
    assert await count_rows(db, Customer) == 1
    assert await count_rows(db, ChannelIdentity) == 1
    async with db.session() as session:
        rows = await session.execute(select(Conversation.id, Conversation.status))
        statuses = {conversation_id: status for conversation_id, status in rows}
    assert statuses == {first: "closed", second: "bot"}


async def test_find_open_conversation_finds_the_open_one(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    async with db.session() as session:
        found = await find_open_conversation(session, "rest", "ana")
        elsewhere = await find_open_conversation(session, "telegram", "ana")

    assert found is not None
    assert found.id == conversation_id
    assert elsewhere is None


async def test_has_open_conversation_says_what_find_open_conversation_finds(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    await start_conversation(db, "bo")
    async with db.session() as session, session.begin():
        await set_conversation_status(
            session, await get_conversation(session, conversation_id), "closed", SYSTEM
        )
    async with db.session() as session:
        for channel, sender in [
            ("rest", "ana"),
            ("rest", "bo"),
            ("telegram", "bo"),
            ("rest", "cy"),
        ]:
            found = await find_open_conversation(session, channel, sender)
            assert await has_open_conversation(session, channel, sender) is (found is not None)
        assert await has_open_conversation(session, "rest", "bo")
        assert not await has_open_conversation(session, "rest", "ana")  # closed


async def test_find_open_conversation_never_creates_anything(db: Database) -> None:
    closed = await start_conversation(db, "ana")
    async with db.session() as session, session.begin():
        await set_conversation_status(
            session, await get_conversation(session, closed), "closed", SYSTEM
        )
    sizes = await table_sizes(db)

    async with db.session() as session, session.begin():
        unknown = await find_open_conversation(session, "rest", "nobody")
        only_closed = await find_open_conversation(session, "rest", "ana")

    assert unknown is None
    assert only_closed is None
    assert await table_sizes(db) == sizes


async def test_add_message_stores_the_message_and_its_event(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        message, new = await add_message(
            session,
            conversation,
            "customer",
            "where is my order?",
            external_id="m-1",
            extras={"buttons": [{"title": "Yes", "payload": "/affirm"}]},
        )

    assert new is True
    [stored] = await read_messages(db, conversation_id)
    assert (stored.id, stored.sender, stored.text, stored.external_id) == (
        message.id,
        "customer",
        "where is my order?",
        "m-1",
    )
    assert stored.extras == {"buttons": [{"title": "Yes", "payload": "/affirm"}]}
    [event] = await read_events(db, "message_from_customer")
    assert event.conversation_id == conversation_id
    [audit] = await read_audit(db, "add_message")
    assert (audit.target_type, audit.target_id) == ("message", message.id)


async def test_add_message_drops_a_repeated_external_id(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        first, _ = await add_message(session, conversation, "customer", "hello", external_id="m-1")
    sizes = await table_sizes(db)

    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        again, new = await add_message(
            session, conversation, "customer", "hello?", external_id="m-1"
        )

    assert new is False
    assert again.id == first.id
    assert again.text == "hello"
    assert await table_sizes(db) == sizes


async def test_messages_without_external_id_are_never_deduplicated(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        _, first_new = await add_message(session, conversation, "bot", "Hi!")
        _, second_new = await add_message(session, conversation, "bot", "Hi!")

    assert (first_new, second_new) == (True, True)
    assert [m.text for m in await read_messages(db, conversation_id)] == ["Hi!", "Hi!"]


async def test_the_same_external_id_in_another_conversation_is_a_new_message(db: Database) -> None:
    first, second = await start_conversation(db, "ana"), await start_conversation(db, "bob")
    async with db.session() as session, session.begin():
        await add_message(
            session, await get_conversation(session, first), "customer", "a", external_id="1"
        )
        _, new = await add_message(
            session, await get_conversation(session, second), "customer", "b", external_id="1"
        )

    assert new is True
    assert await count_rows(db, Message) == 2


async def test_add_message_stores_nlu_annotations(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    annotations = {
        "intent": "billing_question",
        "confidence": 0.875,
        "entities": [{"entity": "amount", "value": "20", "start": 8, "end": 10}],
        "sentiment": {"label": "negative", "compound": -0.42},
    }
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        await add_message(
            session, conversation, "customer", "charged 20 twice", annotations=annotations
        )

    [stored] = await read_messages(db, conversation_id)
    assert stored.intent == "billing_question"
    assert stored.intent_confidence == 0.875
    assert stored.entities == annotations["entities"]
    assert stored.sentiment == annotations["sentiment"]
    [event] = await read_events(db, "message_from_customer")
    assert event.payload == {"intent": "billing_question"}


async def test_bot_message_events_say_what_the_reports_count(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")
    citation = {"title": "Returns", "url": "/kb/returns"}
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        for extras in ({"citations": [citation]}, {"csat_request": True}, {"buttons": []}):
            await add_message(session, conversation, "bot", "...", extras=extras)
    payloads = [e.payload for e in await read_events(db, "message_from_bot")]
    assert payloads == [{"cited": True}, {"survey": True}, {}]
