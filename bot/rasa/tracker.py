"""The request a Rasa server sends its action server, built from a helpline conversation: the
tracker (latest message, events, slots), a domain and the protocol version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import transcript
from bot.settings import Settings
from nlu.parse import Parse
from storage.models import ChannelIdentity, Conversation, Event, Message

# The Rasa version helpline's requests follow (rasa-sdk warns when major.minor differ).
PROTOCOL_VERSION = "3.21.0"
SLOT_SET, SLOTS_RESET = "slot_set", "slots_reset"  # event types that keep a conversation's slots
MAX_EVENTS = 200  # the newest messages and slot changes sent in the tracker


async def action_request(
    session: AsyncSession,
    settings: Settings,
    conversation: Conversation,
    action: str,
    *,
    parse: Parse,
    message: Message,
) -> dict[str, Any]:
    """The JSON body of Rasa's call to run `action` after the customer's `message`."""
    sender = await _sender_id(session, conversation)
    slots = await conversation_slots(session, conversation.id)
    latest = {**parse.as_rasa(), "message_id": str(message.id), "metadata": {}}
    events = await _events(session, conversation, latest)
    tracker = {
        "sender_id": sender,
        "slots": slots,
        "latest_message": latest,
        "latest_event_time": events[-1]["timestamp"] if events else None,
        "followup_action": None,
        "paused": False,
        "events": events,
        "latest_input_channel": conversation.channel,
        "active_loop": {},
        "latest_action": {"action_name": "action_listen"},
        "latest_action_name": "action_listen",
    }
    return {
        "next_action": action,
        "sender_id": sender,
        "tracker": tracker,
        "domain": domain(settings, slots),
        "version": PROTOCOL_VERSION,
    }


def domain(settings: Settings, slots: dict[str, Any]) -> dict[str, Any]:
    """What helpline knows of a Rasa domain: intents and actions it maps, responses, slots."""
    dialogue = settings.dialogue
    intents = sorted({*settings.actions.intents, *dialogue.handoff_intents})
    return {
        "version": "3.1",
        "config": {"store_entities_as_slots": True},
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
        "intents": intents,
        "entities": [],
        "slots": {name: {"type": "any", "mappings": []} for name in sorted(slots)},
        "responses": {f"utter_{k}": [{"text": v}] for k, v in sorted(dialogue.responses.items())},
        "actions": sorted(set(settings.actions.intents.values())),
        "forms": {},
    }


async def conversation_slots(session: AsyncSession, conversation_id: int) -> dict[str, Any]:
    """The slots as the action server's events left them (the event log keeps every change)."""
    changes = await session.scalars(
        select(Event)
        .where(Event.conversation_id == conversation_id, Event.type.in_((SLOT_SET, SLOTS_RESET)))
        .order_by(Event.id)
    )
    slots: dict[str, Any] = {}
    for change in changes:
        if change.type == SLOTS_RESET:
            slots.clear()
        else:
            slots[change.payload["slot"]] = change.payload.get("value")
    return slots


async def _sender_id(session: AsyncSession, conversation: Conversation) -> str:
    """The customer's id on the conversation's channel, as Rasa's channels name senders."""
    external = await session.scalar(
        select(ChannelIdentity.external_user_id)
        .where(ChannelIdentity.customer_id == conversation.customer_id)
        .where(ChannelIdentity.channel == conversation.channel)
        .order_by(ChannelIdentity.id)
        .limit(1)
    )
    return external or f"customer-{conversation.customer_id}"


async def _events(
    session: AsyncSession, conversation: Conversation, latest: dict[str, Any]
) -> list[dict[str, Any]]:
    messages = await transcript(session, conversation.id)
    slot_changes = await session.scalars(
        select(Event)
        .where(Event.conversation_id == conversation.id, Event.type.in_((SLOT_SET, SLOTS_RESET)))
        .order_by(Event.id)
    )
    events = [_message_event(m, conversation.channel, latest) for m in messages]
    events += [_slot_event(e) for e in slot_changes]
    events.sort(key=lambda e: e["timestamp"])
    return events[-MAX_EVENTS:]


def _message_event(message: Message, channel: str, latest: dict[str, Any]) -> dict[str, Any]:
    stamp = _timestamp(message.created_at)
    if message.sender == "customer":
        parse_data = (
            latest
            if str(message.id) == latest["message_id"]
            else {
                "intent": {"name": message.intent, "confidence": message.intent_confidence},
                "entities": message.entities or [],
                "text": message.text,
            }
        )
        return {
            "event": "user",
            "timestamp": stamp,
            "text": message.text,
            "parse_data": parse_data,
            "input_channel": channel,
            "message_id": str(message.id),
        }
    extras = message.extras or {}
    data = {"buttons": extras["buttons"]} if extras.get("buttons") else {}
    return {
        "event": "bot",
        "timestamp": stamp,
        "text": message.text,
        "data": data,
        "metadata": {"sender": message.sender},
    }


def _slot_event(change: Event) -> dict[str, Any]:
    stamp = _timestamp(change.created_at)
    if change.type == SLOTS_RESET:
        return {"event": "reset_slots", "timestamp": stamp}
    return {
        "event": "slot",
        "timestamp": stamp,
        "name": change.payload["slot"],
        "value": change.payload.get("value"),
    }


def _timestamp(when: datetime) -> float:
    return round(when.timestamp(), 6)
