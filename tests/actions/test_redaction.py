"""Redaction before storage: Luhn-valid card numbers and configured patterns never reach the
database, on every path that stores a message; other numbers are kept."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from actions import redaction
from actions.conversations import add_message, open_conversation
from actions.messages import edit_customer_message
from actions.redaction import RedactionPolicy, luhn_valid
from storage.database import Database
from tests.actions.support import read_messages


@pytest.fixture
def iban_policy() -> Iterator[None]:
    redaction.configure(RedactionPolicy(patterns=(("iban", re.compile(r"\bDE\d{20}\b")),)))
    yield
    redaction.configure(RedactionPolicy())


@pytest.mark.parametrize(
    ("number", "valid"),
    [("4111111111111111", True), ("5555555555554444", True), ("4111111111111112", False)],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("card 4111 1111 1111 1111 please", "card [card] please"),
        ("card 4111-1111-1111-1111.", "card [card]."),
        ("amex 378282246310005", "amex [card]"),
        ("not a card 4111 1111 1111 1112", "not a card 4111 1111 1111 1112"),
        ("order AF-1234567890123", "order AF-1234567890123"),
        ("call +49 151 2345 6789", "call +49 151 2345 6789"),
        ("two 4111111111111111 and 5555555555554444", "two [card] and [card]"),
    ],
)
def test_card_numbers_are_replaced_and_other_numbers_kept(text: str, stored: str) -> None:
    assert RedactionPolicy().redact(text) == stored


def test_cards_can_be_turned_off() -> None:
    assert RedactionPolicy(cards=False).redact("4111111111111111") == "4111111111111111"


async def test_stored_messages_and_entities_are_redacted(db: Database, iban_policy: None) -> None:
    text = "pay from DE89370400440532013000 or card 4111111111111111"
    entities = [{"entity": "iban", "value": "DE89370400440532013000", "start": 9, "end": 31}]
    async with db.session() as session, session.begin():
        conversation = await open_conversation(session, "web", "v1")
        await add_message(
            session, conversation, "customer", text, annotations={"entities": entities}
        )
        await add_message(session, conversation, "agent", "I see card 4111 1111 1111 1111")
        conversation_id = conversation.id
    customer, agent = await read_messages(db, conversation_id)
    assert customer.text == "pay from [iban] or card [card]"
    assert customer.entities == [{"entity": "iban", "value": "[iban]", "start": 9, "end": 31}]
    assert agent.text == "I see card [card]"


async def test_an_edited_message_is_redacted_too(db: Database) -> None:
    async with db.session() as session, session.begin():
        conversation = await open_conversation(session, "telegram", "77")
        await add_message(session, conversation, "customer", "my card", external_id="m1")
        conversation_id = conversation.id
    async with db.session() as session, session.begin():
        await edit_customer_message(session, "telegram", "77", "m1", "my card 4111111111111111")
    [message] = await read_messages(db, conversation_id)
    assert message.text == "my card [card]"
