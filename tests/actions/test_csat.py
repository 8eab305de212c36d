"""record_csat: the first valid rating of a conversation awaiting one counts; nothing is lost."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from actions.conversations import get_conversation
from actions.csat import MAX_COMMENT, record_csat
from actions.errors import Conflict, InvalidInput
from storage.database import Database
from storage.models import CsatResponse
from tests.actions.support import (
    make_agent,
    new_handoff,
    read_conversation,
    read_events,
    resolve,
    start_conversation,
    table_sizes,
)


@dataclass(frozen=True)
class Resolved:
    conversation_id: int
    ticket_id: int
    agent_id: int


@pytest.fixture
async def resolved(db: Database) -> Resolved:
    """A conversation whose ticket Ada resolved: it waits for the customer's rating."""
    ada = await make_agent(db, "ada", online=True)
    handoff = await new_handoff(db, "ana")
    await resolve(db, handoff.ticket.id, ada)
    return Resolved(handoff.ticket.conversation_id, handoff.ticket.id, ada)


async def _rate(
    db: Database, conversation_id: int, rating: object, comment: str | None = None
) -> int:
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        return (await record_csat(session, conversation, rating, comment)).id


async def _responses(db: Database) -> list[CsatResponse]:
    async with db.session() as session:
        return list(await session.scalars(select(CsatResponse).order_by(CsatResponse.id)))


@pytest.mark.parametrize("rating", [0, 6, 7, -1, "5", 4.5, 5.0, True, False, None])
async def test_a_rating_that_is_not_a_whole_number_from_1_to_5_is_invalid(
    db: Database, resolved: Resolved, rating: object
) -> None:
    sizes = await table_sizes(db)

    with pytest.raises(InvalidInput):
        await _rate(db, resolved.conversation_id, rating)

    assert await table_sizes(db) == sizes
    assert (await read_conversation(db, resolved.conversation_id)).status == "awaiting_rating"


async def test_a_too_long_comment_is_invalid(db: Database, resolved: Resolved) -> None:
    with pytest.raises(InvalidInput):
        await _rate(db, resolved.conversation_id, 5, "x" * (MAX_COMMENT + 1))

    assert await _responses(db) == []


@pytest.mark.parametrize("rating", [1, 5])
async def test_a_valid_rating_is_stored_reported_and_closes_the_conversation(
    db: Database, resolved: Resolved, rating: int
) -> None:
    response_id = await _rate(db, resolved.conversation_id, rating, "quick and kind")

    [response] = await _responses(db)
    assert response.id == response_id
    assert (response.conversation_id, response.ticket_id) == (
        resolved.conversation_id,
        resolved.ticket_id,
    )
    assert (response.rating, response.comment) == (rating, "quick and kind")
    [event] = await read_events(db, "csat_recorded")
    assert (event.conversation_id, event.ticket_id) == (
        resolved.conversation_id,
        resolved.ticket_id,
    )
    assert (event.agent_id, event.queue) == (resolved.agent_id, "billing")
    assert event.payload == {"rating": rating}
    assert (await read_conversation(db, resolved.conversation_id)).status == "closed"


async def test_an_empty_comment_is_stored_as_none(db: Database, resolved: Resolved) -> None:
    await _rate(db, resolved.conversation_id, 4, "")

    [response] = await _responses(db)
    assert response.comment is None


async def test_a_second_rating_is_a_conflict_and_its_rejection_is_kept(
    db: Database, resolved: Resolved
) -> None:
    await _rate(db, resolved.conversation_id, 5)

    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, resolved.conversation_id)
        with pytest.raises(Conflict, match="already been rated"):
            await record_csat(session, conversation, 1)

    [response] = await _responses(db)
    assert response.rating == 5
    assert len(await read_events(db, "csat_recorded")) == 1
    [rejected] = await read_events(db, "csat_rejected")
    assert rejected.conversation_id == resolved.conversation_id
    assert rejected.payload == {"rating": 1, "reason": "already rated"}


async def test_rating_a_conversation_not_awaiting_a_rating_is_a_conflict(db: Database) -> None:
    conversation_id = await start_conversation(db, "ana")

    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        with pytest.raises(Conflict, match="not waiting for a rating"):
            await record_csat(session, conversation, 5)

    assert await _responses(db) == []
    assert (await read_conversation(db, conversation_id)).status == "bot"
    [rejected] = await read_events(db, "csat_rejected")
    assert rejected.payload == {"rating": 5, "reason": "not asked"}
