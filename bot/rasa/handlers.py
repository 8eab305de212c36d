"""helpline's actions as Rasa calls them, without rasa-sdk: a call (sender, latest message,
slots) in, an outcome (messages for the customer, slots to set) out. Every change goes through
the `actions` package; this module only reads the call and words the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.csat import record_csat as record_rating
from actions.errors import Forbidden, InvalidInput, NotFound
from actions.lifecycle import close_ticket, reopen_ticket
from actions.orders import OrderStatus, order_status
from actions.record import Actor
from actions.ticket_edits import add_internal_note, add_tag, set_priority, transfer_ticket
from actions.tickets import TicketFields, create_ticket, handoff, resolve_ticket, take_ticket
from bot.settings import Settings
from routing import TicketFacts, choose_queue, priority_for, route_queue
from storage.models import Conversation, Ticket, User

RASA_CHANNEL = "rasa"  # conversations Rasa holds are kept on this channel, by Rasa's sender id


@dataclass(frozen=True)
class RasaCall:
    """What an action needs of Rasa's tracker."""

    sender_id: str
    text: str = ""
    intent: str | None = None
    message_id: str | None = None
    entities: dict[str, Any] = field(default_factory=dict)  # the latest value of each entity
    slots: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """The entity of the latest message, else the slot of that name (None when neither)."""
        found = self.entities.get(name)
        return found if found not in (None, "") else self.slots.get(name)


@dataclass
class Reply:
    text: str
    extras: dict[str, Any] | None = None


@dataclass
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    session: AsyncSession
    settings: Settings
    conversation: Conversation
    rasa: RasaCall


Handler = Callable[[Call], Awaitable[Outcome]]


def _said(text: str, **slots: Any) -> Outcome:
    return Outcome([Reply(text)], dict(slots))


def _ticket_slots(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "queue": ticket.queue.name,
        "ticket_status": ticket.status,
        "ticket_priority": ticket.priority,
    }


def _route(call: Call) -> tuple[str, str | None, TicketFields]:
    """The queue, category and fields of a new ticket: routed as the engine routes hand-offs,
    unless the call names a known queue or priority."""
    settings, conversation, rasa = call.settings, call.conversation, call.rasa
    by_intent = settings.queue_for_intent()
    topic = rasa.intent if rasa.intent in by_intent else conversation.last_intent
    facts = TicketFacts(
        intent=topic,
        language=settings.language,
        tier=conversation.customer.tier,
        channel=conversation.channel,
        sentiment="neutral",
        text=rasa.text,
    )
    route = route_queue(
        facts,
        settings.queue_rules(),
        choose_queue(topic, by_intent, settings.routing.default_queue),
    )
    named = rasa.value("queue")
    queue = named if named in {q.name for q in settings.queues} else route.queue
    priority = rasa.value("priority")
    if priority not in ("low", "normal", "high", "urgent"):
        priority = priority_for(facts, settings.priority_rules())
    fields = TicketFields(priority=priority, language=settings.language, skills=route.skills)
    return queue, topic, fields


def _subject(call: Call) -> str:
    return call.rasa.text or call.rasa.intent or "(no subject)"


async def create_ticket_action(call: Call) -> Outcome:
    queue, category, fields = _route(call)
    ticket, created = await create_ticket(
        call.session, call.conversation, queue, _subject(call), category=category, fields=fields
    )
    name = ticket.queue.name
    text = (
        f"I've opened ticket #{ticket.id} with our {name} team."
        if created
        else f"Your ticket #{ticket.id} is already open with our {name} team."
    )
    return Outcome([Reply(text)], _ticket_slots(ticket))


async def handoff_action(call: Call) -> Outcome:
    queue, category, fields = _route(call)
    settings = call.settings
    result = await handoff(
        call.session,
        call.conversation,
        queue,
        subject=_subject(call),
        category=category,
        minutes_per_ticket=settings.routing.minutes_per_waiting_ticket,
        fields=fields,
    )
    wait = result.wait_minutes
    text = settings.dialogue.responses["handoff"].format(
        queue=result.ticket.queue.name,
        ticket=result.ticket.id,
        wait=f"{wait} minute" if wait == 1 else f"{wait} minutes",
    )
    return Outcome([Reply(text)], _ticket_slots(result.ticket))


async def order_status_action(call: Call) -> Outcome:
    number = call.rasa.value("order_number")
    if not number:
        return _said("Which order is it? Please send me the order number.", order_status=None)
    found = await order_status(
        call.session,
        str(number),
        customer_id=call.conversation.customer_id,
        conversation_id=call.conversation.id,
    )
    if found is None:
        return _said(
            f"I can't find order {number} on your account. Could you check the number?",
            order_number=str(number),
            order_status=None,
        )
    return _said(_order_text(found), order_number=found.number, order_status=found.status)


def _order_text(order: OrderStatus) -> str:
    parts = [f"Order {order.number} is {order.status.replace('_', ' ')}"]
    if order.carrier:
        parts.append(f"with {order.carrier}")
    if order.tracking_number:
        parts.append(f"(tracking number {order.tracking_number})")
    text = " ".join(parts) + "."
    if order.estimated_delivery:
        text += f" It should arrive on {order.estimated_delivery:%A %d %B}."
    return text


async def record_csat_action(call: Call) -> Outcome:
    raw = call.rasa.value("rating")
    if raw is None and call.rasa.text.strip() in {"1", "2", "3", "4", "5"}:
        raw = call.rasa.text.strip()
    try:
        rating = int(str(raw))
    except ValueError:
        raise InvalidInput("a rating is a whole number from 1 to 5") from None
    await record_rating(call.session, call.conversation, rating)
    return _said(call.settings.csat.thanks, csat_rating=rating)


async def latest_ticket(call: Call) -> Ticket:
    """The customer's newest ticket: the one Rasa's customer-facing actions change."""
    ticket: Ticket | None = await call.session.scalar(
        select(Ticket)
        .join(Conversation, Conversation.id == Ticket.conversation_id)
        .where(Conversation.customer_id == call.conversation.customer_id)
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    if ticket is None:
        raise NotFound("you have no ticket with us yet")
    return ticket


async def acting_user(call: Call) -> User:
    """The helpline user Rasa's staff actions act as (actions.acting_user in config.yml)."""
    username = call.settings.actions.acting_user
    if not username:
        raise Forbidden("staff actions need actions.acting_user in config.yml")
    user = await call.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InvalidInput(f"actions.acting_user {username!r} is not a helpline user")
    return user


async def _named_user(call: Call, username: object) -> User:
    if not isinstance(username, str) or not username:
        raise InvalidInput("name the agent (an `agent` entity or slot with their username)")
    user = await call.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"there is no agent {username!r}")
    return user


async def set_priority_action(call: Call) -> Outcome:
    priority = call.rasa.value("priority")
    if not isinstance(priority, str):
        raise InvalidInput("which priority? low, normal, high or urgent")
    ticket = await latest_ticket(call)
    await set_priority(call.session, ticket, priority.strip().lower(), await acting_user(call))
    text = f"Ticket #{ticket.id} now has {ticket.priority} priority."
    return Outcome([Reply(text)], _ticket_slots(ticket))


async def add_tag_action(call: Call) -> Outcome:
    tag = call.rasa.value("tag")
    if not isinstance(tag, str):
        raise InvalidInput("which tag? (a `tag` entity or slot)")
    ticket = await latest_ticket(call)
    await add_tag(call.session, ticket, tag, await acting_user(call))
    return Outcome([], {**_ticket_slots(ticket), "tag": tag.strip().lower()})


async def add_internal_note_action(call: Call) -> Outcome:
    """A note for the staff (never shown to the customer): the `note` slot or the message."""
    note = call.rasa.value("note") or call.rasa.text
    ticket = await latest_ticket(call)
    await add_internal_note(call.session, ticket, await acting_user(call), str(note))
    return Outcome([], _ticket_slots(ticket))


async def assign_action(call: Call) -> Outcome:
    ticket = await latest_ticket(call)
    agent = await _named_user(call, call.rasa.value("agent"))
    await acting_user(call)  # assigning is a staff action too
    await take_ticket(call.session, ticket, agent)
    text = f"{agent.display_name} is taking care of ticket #{ticket.id}."
    return Outcome([Reply(text)], {**_ticket_slots(ticket), "agent": agent.username})


async def transfer_action(call: Call) -> Outcome:
    ticket = await latest_ticket(call)
    raw_agent, queue = call.rasa.value("agent"), call.rasa.value("queue")
    agent = await _named_user(call, raw_agent) if raw_agent else None
    note = call.rasa.value("note")
    await transfer_ticket(
        call.session,
        ticket,
        await acting_user(call),
        to_agent=agent,
        to_queue=str(queue) if queue else None,
        note=str(note) if note else None,
    )
    text = f"I've passed ticket #{ticket.id} to our {ticket.queue.name} team."
    return Outcome([Reply(text)], _ticket_slots(ticket))


async def resolve_action(call: Call) -> Outcome:
    """Resolve the ticket and ask for a rating, as the console does."""
    ticket = await latest_ticket(call)
    await resolve_ticket(call.session, ticket, await acting_user(call))
    question = Reply(call.settings.csat.question, {"csat_request": True})
    return Outcome([Reply(f"Ticket #{ticket.id} is resolved."), question], _ticket_slots(ticket))


async def reopen_action(call: Call) -> Outcome:
    ticket = await latest_ticket(call)
    await reopen_ticket(call.session, ticket, Actor("customer", call.conversation.customer_id))
    text = f"Ticket #{ticket.id} is open again; a person will be with you."
    return Outcome([Reply(text)], _ticket_slots(ticket))


async def close_action(call: Call) -> Outcome:
    ticket = await latest_ticket(call)
    await close_ticket(call.session, ticket, Actor("customer", call.conversation.customer_id))
    return Outcome([Reply(f"Ticket #{ticket.id} is closed.")], _ticket_slots(ticket))


HANDLERS: dict[str, Handler] = {
    "action_create_ticket": create_ticket_action,
    "action_handoff": handoff_action,
    "action_order_status": order_status_action,
    "action_record_csat": record_csat_action,
    "action_set_priority": set_priority_action,
    "action_add_tag": add_tag_action,
    "action_add_internal_note": add_internal_note_action,
    "action_assign": assign_action,
    "action_transfer": transfer_action,
    "action_resolve": resolve_action,
    "action_reopen": reopen_action,
    "action_close": close_action,
}


def call_from_tracker(
    sender_id: object, latest_message: dict[str, Any] | None, slots: dict[str, Any] | None
) -> RasaCall:
    """Read Rasa's tracker (its sender, `latest_message` parse data and slots) into a call."""
    latest = latest_message or {}
    entities: dict[str, Any] = {}
    for entity in latest.get("entities") or []:
        if isinstance(entity, dict) and isinstance(entity.get("entity"), str):
            entities[entity["entity"]] = entity.get("value")
    intent = latest.get("intent")
    message_id = latest.get("message_id")
    return RasaCall(
        sender_id=str(sender_id),
        text=str(latest.get("text") or ""),
        intent=intent.get("name") if isinstance(intent, dict) else None,
        message_id=str(message_id) if message_id else None,
        entities=entities,
        slots=dict(slots or {}),
    )
