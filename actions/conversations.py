"""Actions on conversations and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions.errors import NotFound
from actions.record import Actor, record
from actions.redaction import redact, redact_entities
from storage.models import ChannelIdentity, Conversation, Customer, Message

OPEN_STATUSES = ("bot", "waiting", "with_agent", "awaiting_rating")
INTERNAL_NOTE = "note"  # the sender of notes staff write for each other; customers never see them
# session.info: the transaction that handles its conversation's deliveries alone
# (`bot.ordering`): no other can store the same external id between `add_message`'s look and
# its insert.
IN_ORDER = "helpline_conversation_in_order"


def _newest(statuses: tuple[str, ...]) -> Select[Conversation]:
    """The newest conversation on the channel `channel` in one of `statuses`."""
    return (
        select(Conversation)
        .where(Conversation.channel == bindparam("channel"))
        .where(Conversation.status.in_(statuses))
        .order_by(Conversation.id.desc())
        .limit(1)
    )


def _of_sender(query: Select[Conversation]) -> Select[Conversation]:
    """`query` narrowed to the customer behind `external_user_id` on `channel`."""
    return (
        query.join(ChannelIdentity, ChannelIdentity.customer_id == Conversation.customer_id)
        .where(ChannelIdentity.channel == bindparam("channel"))
        .where(ChannelIdentity.external_user_id == bindparam("external_user_id"))
    )


# Built once: building a statement costs more than running it on SQLite (a turn runs these).
_OPEN_ONES = _newest(OPEN_STATUSES)
_OPEN_FOR_CUSTOMER = _OPEN_ONES.where(Conversation.customer_id == bindparam("customer_id"))
_OPEN_FOR_SENDER = _of_sender(_OPEN_ONES)
_LATEST_FOR_SENDER = _of_sender(_newest((*OPEN_STATUSES, "closed")))
_OPEN_ID_FOR_SENDER = _OPEN_FOR_SENDER.with_only_columns(Conversation.id)


async def open_conversation(
    session: AsyncSession, channel: str, external_user_id: str, display_name: str | None = None
) -> Conversation:
    """The customer's open conversation on this channel, started (with the customer) if none.
    A returning customer's is found with one query."""
    conversation = await find_open_conversation(session, channel, external_user_id)
    if conversation is not None:
        return conversation
    identity, customer = await _identity(session, channel, external_user_id, display_name)
    if customer is None:  # a customer known before may have an open one under another identity
        conversation = await session.scalar(
            _OPEN_FOR_CUSTOMER, {"channel": channel, "customer_id": identity.customer_id}
        )
        if conversation is not None:
            return conversation
        customer = await session.get_one(Customer, identity.customer_id)
    conversation = Conversation(customer=customer, channel=channel, status="bot")
    session.add(conversation)
    await session.flush()
    record(
        session,
        Actor("customer", identity.customer_id),
        "start_conversation",
        ("conversation", conversation.id),
        event="conversation_started",
        conversation_id=conversation.id,
        payload={"channel": channel},
    )
    return conversation


async def _identity(
    session: AsyncSession, channel: str, external_user_id: str, display_name: str | None
) -> tuple[ChannelIdentity, Customer | None]:
    """The sender's identity on the channel, and its customer when this call created both
    (a new customer has no conversations yet)."""
    query = select(ChannelIdentity).where(
        ChannelIdentity.channel == channel, ChannelIdentity.external_user_id == external_user_id
    )
    identity = await session.scalar(query)
    if identity is not None:
        return identity, None
    try:
        async with session.begin_nested():
            customer = Customer(display_name=display_name or "Visitor")
            session.add(customer)
            await session.flush()
            if display_name is None:
                customer.display_name = f"Visitor {customer.id}"
            identity = ChannelIdentity(
                customer_id=customer.id, channel=channel, external_user_id=external_user_id
            )
            session.add(identity)
            await session.flush()
            return identity, customer
    except IntegrityError:  # another request created the same identity a moment ago
        found = await session.scalar(query)
        if found is None:
            raise
        return found, None


async def get_conversation(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return conversation


_SAME_DELIVERY = select(Message.id).where(
    Message.conversation_id == bindparam("conversation_id"),
    Message.external_id == bindparam("external_id"),
)


async def add_message(
    session: AsyncSession,
    conversation: Conversation,
    sender: str,
    text: str,
    *,
    external_id: str | None = None,
    sender_user_id: int | None = None,
    annotations: dict[str, Any] | None = None,
    extras: dict[str, Any] | None = None,
    flush: bool = True,
) -> tuple[Message, bool]:
    """Store a message; returns it and whether it is new (False: this external id was stored).
    With `flush` false the message waits for the session's next flush (its id is None until
    then), so that a turn's messages go to the database together; a message with an external
    id does so only in a transaction that handles the conversation alone (`IN_ORDER`), others
    insert it at once in a savepoint, in case the same delivery is being stored beside them."""
    delivery = {"conversation_id": conversation.id, "external_id": external_id}
    if external_id is not None:
        existing = await _stored_delivery(session, delivery)
        if existing is not None:
            return existing, False
    notes = annotations or {}
    message = Message(
        conversation_id=conversation.id,
        sender=sender,
        sender_user_id=sender_user_id,
        text=redact(text),  # privacy.redact: card numbers and configured patterns
        external_id=external_id,
        intent=notes.get("intent"),
        intent_confidence=notes.get("confidence"),
        entities=redact_entities(notes.get("entities")),
        sentiment=notes.get("sentiment"),
        extras=extras,
        attachments=[],  # known empty: reading it later needs no query
    )
    alone = session.info.get(IN_ORDER) is session.sync_session.get_transaction()
    if external_id is None or alone:  # nothing to collide with: no savepoint needed
        session.add(message)
        if flush:
            await session.flush()
    else:
        try:
            async with session.begin_nested():
                session.add(message)
                await session.flush()
        except IntegrityError:  # the same delivery is being stored at this moment: that one counts
            existing = await _stored_delivery(session, delivery)
            if existing is None:
                raise
            return existing, False
    if sender_user_id is None:
        message.sender_user = None  # known without asking the database
    else:
        await session.refresh(message, ["sender_user"])
    _record_message(session, message)
    return message, True


async def _stored_delivery(session: AsyncSession, delivery: dict[str, Any]) -> Message | None:
    """The message stored for this delivery, if any: its id is looked up first (nearly always
    there is none), which costs a fraction of loading a message."""
    found = await session.scalar(_SAME_DELIVERY, delivery)
    return None if found is None else await session.get(Message, found)


async def add_system_messages(
    session: AsyncSession, notes: list[tuple[Conversation, str]]
) -> list[Message]:
    """Store several system messages ("Ada joined the conversation.") with one flush."""
    messages = [
        Message(conversation_id=c.id, sender="system", text=text, attachments=[], sender_user=None)
        for c, text in notes
    ]
    session.add_all(messages)
    await session.flush()
    for message in messages:
        _record_message(session, message)
    return messages


def _record_message(session: AsyncSession, message: Message) -> None:
    record(
        session,
        Actor(message.sender, message.sender_user_id),
        "add_message",
        ("message", message),  # its id once flushed
        event=f"message_from_{message.sender}",
        conversation_id=message.conversation_id,
        agent_id=message.sender_user_id,
        payload=_event_payload(message),
    )


async def set_conversation_status(
    session: AsyncSession, conversation: Conversation, status: str, actor: Actor
) -> None:
    if conversation.status == status:
        return
    previous, conversation.status = conversation.status, status
    record(
        session,
        actor,
        "set_conversation_status",
        ("conversation", conversation.id),
        payload={"from": previous, "to": status},
    )


async def transcript(
    session: AsyncSession, conversation_id: int, *, with_notes: bool = False
) -> list[Message]:
    """The conversation's messages in order; internal notes only when `with_notes` (staff)."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if not with_notes:
        query = query.where(Message.sender != INTERNAL_NOTE)
    return list(await session.scalars(query.order_by(Message.id)))


async def latest_question(
    session: AsyncSession, conversation_id: int, skipping_intent: str
) -> str | None:
    """The text of the customer's newest message in the conversation whose intent is not
    `skipping_intent` (e.g. the question before the buttons they pressed), or None."""
    query = (
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.sender == "customer")
        .where(or_(Message.intent.is_(None), Message.intent != skipping_intent))
        .order_by(Message.id.desc())
        .limit(1)
    )
    text: str | None = await session.scalar(query)
    return text


async def customer_texts(session: AsyncSession, since: datetime | None = None) -> list[str]:
    """The distinct texts customers sent (since `since`), oldest first (the buttons they
    pressed too: `nlu.parse.is_trigger` tells them apart)."""
    query = select(Message.text, func.min(Message.id)).where(Message.sender == "customer")
    if since is not None:
        query = query.where(Message.created_at >= since)
    query = query.group_by(Message.text)
    rows = await session.execute(query.order_by(func.min(Message.id)))
    return [text for text, _ in rows]


async def count_messages(session: AsyncSession, conversation_id: int) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Message).where(Message.conversation_id == conversation_id)
    )
    return int(count or 0)


async def find_open_conversation(
    session: AsyncSession, channel: str, external_user_id: str
) -> Conversation | None:
    """The customer's open conversation on this channel, without creating anything."""
    sender = {"channel": channel, "external_user_id": external_user_id}
    found: Conversation | None = await session.scalar(_OPEN_FOR_SENDER, sender)
    return found


async def has_open_conversation(session: AsyncSession, channel: str, external_user_id: str) -> bool:
    """Whether the customer has an open conversation on this channel (its id alone is read:
    a fraction of loading the conversation, for a check made before every widget message)."""
    sender = {"channel": channel, "external_user_id": external_user_id}
    return await session.scalar(_OPEN_ID_FOR_SENDER, sender) is not None


async def find_latest_conversation(
    session: AsyncSession, channel: str, external_user_id: str
) -> Conversation | None:
    """The customer's newest conversation on this channel, open or closed."""
    sender = {"channel": channel, "external_user_id": external_user_id}
    found: Conversation | None = await session.scalar(_LATEST_FOR_SENDER, sender)
    return found


def _event_payload(message: Message) -> dict[str, Any]:
    """What the reports need of a message: its intent, the customer's mood (-1 .. 1), whether
    it answered from the knowledge base (`cited`) or asked for a rating (`survey`)."""
    payload: dict[str, Any] = {}
    if message.intent:
        payload["intent"] = message.intent
    if message.sentiment and isinstance(message.sentiment.get("score"), int | float):
        payload["sentiment"] = message.sentiment["score"]
    extras = message.extras or {}
    if extras.get("citations"):
        payload["cited"] = True
    if extras.get("csat_request"):
        payload["survey"] = True
    return payload
