"""Access and erasure requests: everything stored about one customer as one JSON document, and
the erasure of their personal data that keeps the anonymised numbers the reports are built on."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from actions.errors import InvalidInput, NotFound
from actions.record import Actor, record
from storage.models import (
    Attachment,
    AuditLog,
    ChannelIdentity,
    Conversation,
    CsatResponse,
    Customer,
    Message,
    Order,
    Ticket,
)

ERASED = "[erased]"
ERASED_NAME = "Erased customer"
ERASE_ACTION = "erase_customer"


async def find_customer(session: AsyncSession, reference: str) -> Customer:
    """The customer a reference names: their id (`42`) or a channel identity (`telegram:4242`)."""
    reference = reference.strip()
    if reference.isdigit():
        customer = await session.get(Customer, int(reference))
    elif ":" in reference:
        channel, _, external = reference.partition(":")
        customer = await session.scalar(
            select(Customer)
            .join(ChannelIdentity, ChannelIdentity.customer_id == Customer.id)
            .where(ChannelIdentity.channel == channel, ChannelIdentity.external_user_id == external)
        )
    else:
        raise InvalidInput(f"name a customer by id or as channel:external_id, got {reference!r}")
    if customer is None:
        raise NotFound(f"no customer {reference!r}")
    return customer


async def export_customer(session: AsyncSession, customer: Customer) -> dict[str, Any]:
    """Everything stored about the customer: identity, conversations with their messages and
    attachments' metadata, tickets, ratings and orders."""
    identities = await session.scalars(
        select(ChannelIdentity).where(ChannelIdentity.customer_id == customer.id)
    )
    conversations = list(
        await session.scalars(
            select(Conversation)
            .where(Conversation.customer_id == customer.id)
            .order_by(Conversation.id)
        )
    )
    orders = await session.scalars(select(Order).where(Order.customer_id == customer.id))
    return {
        "customer": {
            "id": customer.id,
            "display_name": customer.display_name,
            "tier": customer.tier,
            "created_at": _iso(customer.created_at),
            "channel_identities": [
                {"channel": i.channel, "external_user_id": i.external_user_id} for i in identities
            ],
        },
        "conversations": [await _conversation(session, c) for c in conversations],
        "orders": [
            {"number": o.number, "status": o.status, "updated_at": _iso(o.updated_at)}
            for o in orders
        ],
        "erasures": await _erasures(session, customer.id),
    }


async def _conversation(session: AsyncSession, conversation: Conversation) -> dict[str, Any]:
    messages = await session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
    )
    tickets = await session.scalars(
        select(Ticket).where(Ticket.conversation_id == conversation.id).order_by(Ticket.id)
    )
    rating = await session.scalar(
        select(CsatResponse).where(CsatResponse.conversation_id == conversation.id)
    )
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "status": conversation.status,
        "created_at": _iso(conversation.created_at),
        "messages": [_message(m) for m in messages],
        "tickets": [_ticket(t) for t in tickets],
        "rating": None
        if rating is None
        else {"rating": rating.rating, "comment": rating.comment, "at": _iso(rating.created_at)},
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "sender": message.sender,
        "text": message.text,
        "created_at": _iso(message.created_at),
        "intent": message.intent,
        "entities": message.entities,
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in message.attachments
        ],
    }


def _ticket(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "category": ticket.category,
        "queue": ticket.queue.name,
        "tags": ticket.tags,
        "created_at": _iso(ticket.created_at),
        "resolved_at": _iso(ticket.resolved_at),
    }


async def _erasures(session: AsyncSession, customer_id: int) -> list[str]:
    found = await session.scalars(
        select(AuditLog.created_at).where(
            AuditLog.action == ERASE_ACTION,
            AuditLog.target_type == "customer",
            AuditLog.target_id == customer_id,
        )
    )
    return [_iso(at) or "" for at in found]


@dataclass(frozen=True)
class Erasure:
    """What an erasure changed; `already` when the customer had been erased before."""

    customer_id: int
    already: bool = False
    messages: int = 0
    tickets: int = 0
    comments: int = 0
    identities: int = 0
    attachments: int = 0
    files: tuple[str, ...] = ()  # storage keys no other attachment uses: delete after commit

    def counts(self) -> dict[str, int]:
        return {
            k: v
            for k, v in asdict(self).items()
            if isinstance(v, int) and k not in ("already", "customer_id")
        }


async def erase_customer(session: AsyncSession, customer: Customer, actor: Actor) -> Erasure:
    """Replace the customer's personal data (message texts, name, channel identities, ticket
    subjects, rating comments, attachment names) and keep the rows, timings, ratings and events
    the reports count; one audit row. Call inside a transaction; delete `files` after commit."""
    await session.refresh(customer, with_for_update=True)  # two erasures at once: one waits
    if await _erasures(session, customer.id):
        return Erasure(customer.id, already=True)
    conversation_ids = select(Conversation.id).where(Conversation.customer_id == customer.id)
    messages, tickets, comments = await _erase_texts(session, conversation_ids)
    attachments, keys = await _erase_attachments(session, conversation_ids)
    identities = list(
        await session.scalars(
            select(ChannelIdentity).where(ChannelIdentity.customer_id == customer.id)
        )
    )
    for identity in identities:
        await session.delete(identity)
    customer.display_name = ERASED_NAME
    erasure = Erasure(
        customer.id,
        messages=messages,
        tickets=tickets,
        comments=comments,
        identities=len(identities),
        attachments=attachments,
        files=keys,
    )
    record(session, actor, ERASE_ACTION, ("customer", customer.id), payload=erasure.counts())
    await session.flush()
    return erasure


async def _erase_texts(
    session: AsyncSession, conversation_ids: Select[int]
) -> tuple[int, int, int]:
    """Message texts, ticket subjects and rating comments; how many of each were replaced."""
    in_conversations = Message.conversation_id.in_(conversation_ids)
    messages = await _update(
        session,
        update(Message)
        .where(in_conversations)
        .values(text=ERASED, entities=None, external_id=None),
    )
    await _update(
        session,
        update(Message).where(in_conversations, Message.sender == "customer").values(extras=None),
    )
    tickets = await _update(
        session,
        update(Ticket).where(Ticket.conversation_id.in_(conversation_ids)).values(subject=ERASED),
    )
    comments = await _update(
        session,
        update(CsatResponse)
        .where(CsatResponse.conversation_id.in_(conversation_ids))
        .where(CsatResponse.comment.is_not(None))
        .values(comment=None),
    )
    return messages, tickets, comments


async def _erase_attachments(
    session: AsyncSession, conversation_ids: Select[int]
) -> tuple[int, tuple[str, ...]]:
    """Rename the customer's attachments; the storage keys no one else's attachment shares."""
    mine = list(
        await session.scalars(
            select(Attachment).where(Attachment.conversation_id.in_(conversation_ids))
        )
    )
    keys = {a.storage_key for a in mine}
    shared = set(
        await session.scalars(
            select(Attachment.storage_key)
            .where(Attachment.storage_key.in_(keys))
            .where(Attachment.conversation_id.not_in(conversation_ids))
            .group_by(Attachment.storage_key)
        )
    )
    for attachment in mine:
        attachment.filename = ERASED
    return len(mine), tuple(sorted(keys - shared))


async def _update(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
