"""Actions on stored messages after the fact: edits from channels that allow them, and marking a
customer unreachable on a channel."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.record import Actor, record
from actions.redaction import redact
from storage.models import ChannelIdentity, Conversation, Message


async def edit_customer_message(
    session: AsyncSession, channel: str, external_user_id: str, external_id: str, text: str
) -> Message | None:
    """The customer changed a message they sent: store the new text; None if it is not known."""
    text = redact(text)  # privacy.redact, as for every stored message
    message = await session.scalar(
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(ChannelIdentity, ChannelIdentity.customer_id == Conversation.customer_id)
        .where(ChannelIdentity.channel == channel)
        .where(ChannelIdentity.external_user_id == external_user_id)
        .where(Conversation.channel == channel)
        .where(Message.external_id == external_id, Message.sender == "customer")
    )
    if message is None or message.text == text:
        return message
    previous, message.text = message.text, text
    record(
        session,
        Actor("customer", None),
        "edit_message",
        ("message", message.id),
        event="message_edited",
        conversation_id=message.conversation_id,
        payload={"previous_length": len(previous), "length": len(text)},
    )
    return message


async def mark_unreachable(
    session: AsyncSession, conversation_id: int, channel: str, reason: str
) -> None:
    """The channel refuses to deliver to this customer (blocked the bot, deleted the chat)."""
    record(
        session,
        Actor("system"),
        "mark_unreachable",
        ("conversation", conversation_id),
        event="customer_unreachable",
        conversation_id=conversation_id,
        payload={"channel": channel, "reason": reason[:200]},
    )
