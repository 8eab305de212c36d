"""JSON shapes of messages and tickets, shared by the widget, the console and the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.models import Attachment, Message, Ticket


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def message_json(message: Message, *, with_nlu: bool) -> dict[str, Any]:
    extras = message.extras or {}
    data: dict[str, Any] = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "sender": message.sender,
        "sender_name": message.sender_user.display_name if message.sender_user else None,
        "text": message.text,
        "created_at": iso(message.created_at),
        "citations": extras.get("citations", []),
        "buttons": extras.get("buttons", []),
        "attachments": [attachment_json(a) for a in message.attachments],
    }
    if with_nlu:
        data["nlu"] = (
            {
                "intent": message.intent,
                "confidence": message.intent_confidence,
                "entities": message.entities or [],
                "sentiment": message.sentiment,
            }
            if message.intent is not None
            else None
        )
    return data


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    """A file of a message; `url` serves it to staff (the widget adds the visitor's key)."""
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": f"/attachments/{attachment.id}",
    }


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    customer = ticket.conversation.customer
    assignee = ticket.assignee
    return {
        "id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "queue": ticket.queue.name,
        "assignee": {
            "id": assignee.id,
            "username": assignee.username,
            "display_name": assignee.display_name,
        }
        if assignee
        else None,
        "customer": {
            "id": customer.id,
            "display_name": customer.display_name,
            "channel": ticket.conversation.channel,
        },
        "intent": ticket.category,
        "created_at": iso(ticket.created_at),
        "first_response_at": iso(ticket.first_response_at),
        "resolved_at": iso(ticket.resolved_at),
        "closed_at": iso(ticket.closed_at),
        "channel": ticket.conversation.channel,
        "language": ticket.language,
        "tags": list(ticket.tags or []),
        "skills": dict(ticket.skills or {}),
        "sla": {
            "first_response_due_at": iso(ticket.first_response_due_at),
            "next_response_due_at": iso(ticket.next_response_due_at),
            "resolution_due_at": iso(ticket.resolution_due_at),
            "escalated": _marks(ticket, "escalated"),
            "breached": _marks(ticket, "breached"),
            "marked": _mark_times(ticket),
        },
    }


def _marks(ticket: Ticket, kind: str) -> list[str]:
    """The SLA clocks (first_response, ...) already escalated or breached."""
    prefix = f"{kind}:"
    return sorted(k.removeprefix(prefix) for k in (ticket.sla_marks or {}) if k.startswith(prefix))


def _mark_times(ticket: Ticket) -> list[dict[str, str]]:
    """Each escalation and breach with when it happened: the console announces each mark once,
    and a next-response clock is marked again after every answer the customer waits for."""
    found = []
    for key, at in sorted((ticket.sla_marks or {}).items()):
        kind, _, clock = key.partition(":")
        found.append({"kind": kind, "clock": clock, "at": iso(datetime.fromisoformat(at)) or at})
    return found
