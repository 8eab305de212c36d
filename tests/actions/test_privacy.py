"""Access and erasure requests: the export holds everything stored about the customer; erasing
replaces the personal data, keeps the numbers the reports count, and happens once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from actions.attachments import ReceivedFile, attach_files, receive_file
from actions.conversations import add_message, get_conversation, open_conversation
from actions.csat import record_csat
from actions.errors import InvalidInput, NotFound
from actions.privacy import ERASED, erase_customer, export_customer, find_customer
from actions.record import SYSTEM
from storage.database import Database
from storage.files import FileStore
from storage.models import (
    Attachment,
    ChannelIdentity,
    Conversation,
    CsatResponse,
    Customer,
    Event,
    Message,
    Ticket,
)
from tests.actions.support import hand_off, make_agent, read_audit, reply, resolve
from tests.actions.test_attachments import PDF, PNG, chunks


@dataclass(frozen=True)
class Story:
    customer_id: int
    conversation_id: int
    ticket_id: int
    other_customer_id: int
    mine_only: ReceivedFile  # a file only Kim sent
    shared: ReceivedFile  # the same bytes another customer sent too


async def _message_with_file(
    db: Database, channel: str, sender: str, name: str | None, text: str, file: ReceivedFile
) -> int:
    async with db.session() as session, session.begin():
        conversation = await open_conversation(session, channel, sender, name)
        message, _ = await add_message(session, conversation, "customer", text)
        await attach_files(session, conversation, message, [file])
        return conversation.id


@pytest.fixture
async def story(db: Database, tmp_path: Path) -> Story:
    """Kim (telegram:4242) sends two files, is handed off, Ada answers and resolves, Kim rates
    4 with a comment; Lou (web) sends one of the same files."""
    store = FileStore(tmp_path / "files")
    mine = await receive_file(store, chunks(PDF), "Kim's invoice.pdf", None, 10_000)
    shared = await receive_file(store, chunks(PNG), "screenshot.png", None, 10_000)
    conversation_id = await _message_with_file(
        db, "telegram", "4242", "Kim Lee", "I am Kim Lee, I was charged twice", mine
    )
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        message, _ = await add_message(session, conversation, "customer", "see the screenshot")
        await attach_files(session, conversation, message, [shared])
    ada = await make_agent(db, "ada", online=True)
    handoff = await hand_off(db, conversation_id)
    await reply(db, handoff.ticket.id, ada, "Sorry Kim, refunding now.")
    await resolve(db, handoff.ticket.id, ada)
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        await record_csat(session, conversation, 4, "Kim here: quick, thanks Ada")
        customer_id = conversation.customer_id
    lou = await _message_with_file(db, "web", "lou-visitor", "Lou", "same error here", shared)
    async with db.session() as session:
        other = (await session.get(Conversation, lou)).customer_id  # type: ignore[union-attr]
    return Story(customer_id, conversation_id, handoff.ticket.id, other, mine, shared)


async def _export(db: Database, reference: str) -> dict[str, object]:
    async with db.session() as session:
        return await export_customer(session, await find_customer(session, reference))


async def test_the_export_holds_identity_messages_tickets_rating_and_files(
    db: Database, story: Story
) -> None:
    document = await _export(db, "telegram:4242")
    assert document == await _export(db, str(story.customer_id))
    customer = document["customer"]
    assert customer["display_name"] == "Kim Lee"  # type: ignore[index]
    assert customer["channel_identities"] == [  # type: ignore[index]
        {"channel": "telegram", "external_user_id": "4242"}
    ]
    [conversation] = document["conversations"]  # type: ignore[misc]
    texts = [m["text"] for m in conversation["messages"]]
    assert texts[:2] == ["I am Kim Lee, I was charged twice", "see the screenshot"]
    assert "Sorry Kim, refunding now." in texts
    files = [a["filename"] for m in conversation["messages"] for a in m["attachments"]]
    assert files == [story.mine_only.filename, story.shared.filename]
    [ticket] = conversation["tickets"]
    assert ticket["id"] == story.ticket_id and ticket["resolved_at"] is not None
    assert conversation["rating"]["rating"] == 4
    assert conversation["rating"]["comment"] == "Kim here: quick, thanks Ada"
    assert "Lou" not in str(document) and "same error here" not in str(document)


@pytest.mark.parametrize(
    ("reference", "error"), [("999", NotFound), ("web:nobody", NotFound), ("kim", InvalidInput)]
)
async def test_an_unknown_or_malformed_customer_is_refused(
    db: Database, story: Story, reference: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await _export(db, reference)


async def _counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            model.__name__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Conversation, Message, Ticket, CsatResponse, Event, Attachment)
        }


async def _erase(db: Database, reference: str):  # type: ignore[no-untyped-def]
    async with db.session() as session, session.begin():
        return await erase_customer(session, await find_customer(session, reference), SYSTEM)


async def test_erasing_replaces_personal_data_and_keeps_the_numbers(
    db: Database, story: Story
) -> None:
    before = await _counts(db)
    async with db.session() as session:
        ticket_before = await session.get(Ticket, story.ticket_id)
        assert ticket_before is not None
        timings = (
            ticket_before.created_at,
            ticket_before.first_response_at,
            ticket_before.resolved_at,
        )
    erasure = await _erase(db, "telegram:4242")
    assert not erasure.already
    assert (erasure.comments, erasure.identities, erasure.attachments) == (1, 1, 2)
    assert erasure.files == (story.mine_only.storage_key,)  # Lou's copy keeps the shared file
    assert await _counts(db) == before  # rows, events and ratings all stay
    document = await _export(db, str(story.customer_id))
    assert "Kim" not in str(document) and "Ada" not in str(document)
    assert document["customer"]["channel_identities"] == []  # type: ignore[index]
    [conversation] = document["conversations"]  # type: ignore[misc]
    assert {m["text"] for m in conversation["messages"]} == {ERASED}
    assert conversation["rating"]["rating"] == 4 and conversation["rating"]["comment"] is None
    assert conversation["tickets"][0]["subject"] == ERASED
    async with db.session() as session:
        ticket = await session.get(Ticket, story.ticket_id)
        assert ticket is not None
        assert (ticket.created_at, ticket.first_response_at, ticket.resolved_at) == timings
        lou = await session.get(Customer, story.other_customer_id)
        assert lou is not None and lou.display_name == "Lou"
        lou_texts = await session.scalars(
            select(Message.text).join(Conversation).where(Conversation.customer_id == lou.id)
        )
        assert list(lou_texts) == ["same error here"]
        assert await session.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "web"))
    [audit] = await read_audit(db, "erase_customer")
    assert audit.target_id == story.customer_id and audit.details["messages"] >= 3


async def test_a_second_erasure_is_a_no_op_that_says_so(db: Database, story: Story) -> None:
    await _erase(db, str(story.customer_id))
    again = await _erase(db, str(story.customer_id))
    assert again.already and again.counts()["messages"] == 0
    assert len(await read_audit(db, "erase_customer")) == 1
    with pytest.raises(NotFound):  # the channel identity went with the first erasure
        await _erase(db, "telegram:4242")
    document = await _export(db, str(story.customer_id))
    assert len(document["erasures"]) == 1  # type: ignore[arg-type]


async def test_an_erasure_that_fails_changes_nothing(
    db: Database, story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _export(db, str(story.customer_id))

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit row cannot be written")

    monkeypatch.setattr("actions.privacy.record", broken_audit)
    with pytest.raises(RuntimeError):
        await _erase(db, "telegram:4242")
    assert await _export(db, str(story.customer_id)) == before


# PostgreSQL only: SQLite runs one writer at a time; the row lock is PostgreSQL's part.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_erasures_at_once_erase_once(db: Database, story: Story) -> None:
    results = await asyncio.gather(
        _erase(db, str(story.customer_id)), _erase(db, str(story.customer_id))
    )
    assert sorted(r.already for r in results) == [False, True]
    assert len(await read_audit(db, "erase_customer")) == 1
