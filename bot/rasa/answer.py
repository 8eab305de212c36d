"""Applying an action server's answer to a conversation: responses become bot messages (text,
buttons, custom payloads), slot events are kept in the event log, failures are recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actions.record import BOT, record
from bot.rasa.client import ActionAnswer, ActionServerError
from bot.rasa.tracker import SLOT_SET, SLOTS_RESET
from storage.models import Conversation

MAX_SLOT_NAME = 64


@dataclass(frozen=True)
class Reply:
    text: str
    extras: dict[str, Any] | None = None


@dataclass
class Replies:
    replies: list[Reply] = field(default_factory=list)
    ignored: int = 0  # responses with nothing a channel can show


def replies(answer: ActionAnswer, responses: dict[str, str]) -> Replies:
    """The answer's responses as bot messages; `utter_x` names our response `x`."""
    out = Replies()
    for response in answer.responses:
        reply = _reply(response, responses)
        if reply is None:
            out.ignored += 1
        else:
            out.replies.append(reply)
    return out


def _reply(response: dict[str, Any], responses: dict[str, str]) -> Reply | None:
    text = response.get("text") if isinstance(response.get("text"), str) else None
    named = response.get("response") or response.get("template")
    if not text and isinstance(named, str):
        text = responses.get(named.removeprefix("utter_"))
    extras: dict[str, Any] = {}
    buttons = [_button(b) for b in response.get("buttons") or [] if isinstance(b, dict)]
    if [b for b in buttons if b]:
        extras["buttons"] = [b for b in buttons if b]
    for key in ("custom", "json_message"):
        if isinstance(response.get(key), dict) and response[key]:
            extras["custom"] = response[key]
    for key in ("image", "attachment"):
        if isinstance(response.get(key), str) and response[key]:
            extras[key] = response[key]
    if not text and not extras:
        return None
    if not text and "image" in extras:
        text = extras["image"]  # channels that cannot show images show the link
    return Reply(text or "", extras or None)


def _button(button: dict[str, Any]) -> dict[str, str] | None:
    title, payload = button.get("title"), button.get("payload")
    if isinstance(title, str) and title and isinstance(payload, str) and payload:
        return {"title": title, "payload": payload}
    return None


def apply_events(
    session: AsyncSession,
    conversation: Conversation,
    action: str,
    answer: ActionAnswer,
    shown: Replies,
) -> None:
    """Keep the slot changes; record what ran, and which events helpline does not apply."""
    slots: list[str] = []
    ignored: list[str] = []
    for event in answer.events:
        kind = event.get("event")
        name = event.get("name")
        if kind == "slot" and isinstance(name, str) and 0 < len(name) <= MAX_SLOT_NAME:
            _record_slot(session, conversation, action, name, event.get("value"))
            slots.append(name)
        elif kind == "reset_slots":
            record(
                session,
                BOT,
                "reset_slots",
                ("conversation", conversation.id),
                event=SLOTS_RESET,
                conversation_id=conversation.id,
                payload={"action": action},
            )
            slots.append("*")
        else:
            ignored.append(str(kind))
    record(
        session,
        BOT,
        "run_remote_action",
        ("conversation", conversation.id),
        event="remote_action_ran",
        conversation_id=conversation.id,
        payload={
            "action": action,
            "replies": len(shown.replies),
            "ignored_responses": shown.ignored,
            "slots": slots,
            "ignored_events": ignored,
        },
    )


def record_slots(
    session: AsyncSession, conversation: Conversation, action: str, slots: dict[str, Any]
) -> None:
    """Keep slots an action set (helpline's own actions set them without an action server)."""
    for name, value in slots.items():
        _record_slot(session, conversation, action, name, value)


def _record_slot(
    session: AsyncSession, conversation: Conversation, action: str, name: str, value: Any
) -> None:
    record(
        session,
        BOT,
        "set_slot",
        ("conversation", conversation.id),
        event=SLOT_SET,
        conversation_id=conversation.id,
        payload={"slot": name, "value": value, "action": action},
    )


def record_failure(
    session: AsyncSession, conversation: Conversation, error: ActionServerError
) -> None:
    """The event (for the reports and the console) that an action server call failed."""
    record(
        session,
        BOT,
        "run_remote_action",
        ("conversation", conversation.id),
        event="remote_action_failed",
        conversation_id=conversation.id,
        payload={"action": error.action, "reason": error.reason, "detail": error.detail},
    )
