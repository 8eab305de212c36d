"""Record the customer's rating of a conversation (1 to 5); the first valid rating counts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import set_conversation_status
from actions.errors import Conflict, InvalidInput
from actions.record import Actor, record
from actions.tickets import latest_ticket
from storage.models import Conversation, CsatResponse

MAX_COMMENT = 2000


async def record_csat(
    session: AsyncSession, conversation: Conversation, rating: object, comment: str | None = None
) -> CsatResponse:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput(f"a rating is a whole number from 1 to 5, got {rating!r}")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidInput(f"the comment is longer than {MAX_COMMENT} characters")
    actor = Actor("customer", conversation.customer_id)
    existing = await session.scalar(
        select(CsatResponse).where(CsatResponse.conversation_id == conversation.id)
    )
    if existing is not None or conversation.status != "awaiting_rating":
        raise _rejected(session, actor, conversation, rating, already_rated=existing is not None)
    ticket = await latest_ticket(session, conversation.id)
    response = CsatResponse(
        conversation_id=conversation.id,
        ticket_id=ticket.id if ticket else None,
        rating=rating,
        comment=comment or None,
    )
    try:
        async with session.begin_nested():
            session.add(response)
            await session.flush()
    except IntegrityError:  # another rating of this conversation was stored a moment ago
        raise _rejected(session, actor, conversation, rating, already_rated=True) from None
    await set_conversation_status(session, conversation, "closed", actor)
    record(
        session,
        actor,
        "record_csat",
        ("conversation", conversation.id),
        event="csat_recorded",
        conversation_id=conversation.id,
        ticket_id=response.ticket_id,
        agent_id=ticket.assignee_id if ticket else None,
        queue=ticket.queue.name if ticket else None,
        payload={"rating": rating},
    )
    return response


def _rejected(
    session: AsyncSession,
    actor: Actor,
    conversation: Conversation,
    rating: int,
    *,
    already_rated: bool,
) -> Conflict:
    """Record the refused rating (nothing the customer said is lost) and the error to raise."""
    record(
        session,
        actor,
        "record_csat_rejected",
        ("conversation", conversation.id),
        event="csat_rejected",
        conversation_id=conversation.id,
        payload={"rating": rating, "reason": "already rated" if already_rated else "not asked"},
    )
    return Conflict(
        "this conversation has already been rated"
        if already_rated
        else "this conversation is not waiting for a rating"
    )
