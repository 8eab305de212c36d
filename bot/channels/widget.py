"""The web widget's channel: one WebSocket per browser tab, a signed token per visitor."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import uuid
from typing import Any

from aiohttp import web

from actions.conversations import (
    find_latest_conversation,
    find_open_conversation,
    has_open_conversation,
    transcript,
)
from actions.csat import record_csat
from actions.errors import Conflict, HelplineError, InvalidInput, RateLimited
from actions.tickets import active_ticket
from bot.components import Components
from bot.engine import InboundMessage
from bot.live import CONSOLE, Payload, conversation_topic, ticket_scope
from bot.views import message_json
from bot.web import keys
from bot.web.client_address import client_address
from bot.web.origin import check_origin
from bot.web.ratelimit import RateLimiter
from bot.web.sockets import relay
from storage.database import RETRY_AFTER_S, unavailable
from storage.models import Message

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
CHANNEL = "web"
MAX_FRAME = 256 * 1024
MAX_CLIENT_ID = 128
# The customer's own messages come back as acks; internal notes are for agents only.
PRIVATE_SENDERS = ("customer", "note")


def sign_visitor(secret: bytes, visitor: str) -> str:
    return f"{visitor}.{_signature(secret, visitor)}"


def verify_token(secret: bytes, token: object) -> str | None:
    """The visitor id inside a token this server signed, or None."""
    if not isinstance(token, str) or token.count(".") != 1:
        return None
    visitor, signature = token.split(".")
    return visitor if hmac.compare_digest(signature, _signature(secret, visitor)) else None


def _signature(secret: bytes, visitor: str) -> str:
    return hmac.new(secret, visitor.encode(), hashlib.sha256).hexdigest()[:40]


def sign_attachment(secret: bytes, visitor: str, attachment_id: int) -> str:
    """The key that lets this visitor's browser load one file of their conversation."""
    return _signature(secret, f"attachment:{attachment_id}:{visitor}")


def with_visitor_keys(secret: bytes, visitor: str, data: dict[str, Any]) -> dict[str, Any]:
    """A message as this visitor's widget gets it: its files' links carry the visitor's key."""
    attachments = [
        {**a, "url": f"{a['url']}?key={sign_attachment(secret, visitor, a['id'])}"}
        for a in data.get("attachments", [])
    ]
    return {**data, "attachments": attachments}


async def admit_message(
    components: Components, limiter: RateLimiter, visitor: str, address: str
) -> None:
    """The limits every widget message passes (a text or a file): so many per visitor, and one
    that would start a conversation counts against its address's limit."""
    wait = await limiter.hit(f"web:{visitor}")
    if wait is not None:
        raise RateLimited(f"too many messages; try again in {wait} s", wait)
    async with components.db.quick_session() as session:
        if await has_open_conversation(session, CHANNEL, visitor):
            return
    wait = await components.limits.new_conversations.hit(f"web:{address}")
    if wait is not None:
        raise RateLimited(f"too many new conversations; try again in {wait} s", wait)


class WidgetSession:
    """One socket: hello, messages and ratings in; acks, replies and live updates out."""

    def __init__(
        self,
        components: Components,
        socket: web.WebSocketResponse,
        limiter: RateLimiter,
        address: str,
    ) -> None:
        self.components = components
        self.limiter = limiter
        self.address = address  # the client's (bot/web/client_address.py)
        self.socket = socket
        self.visitor = ""
        self.conversation_id: int | None = None
        self.updates: asyncio.Queue[Payload] = asyncio.Queue()
        self.sent: set[int] = set()
        # Held while a message is handled, so its ack goes out before the replies it caused.
        self.turn_lock = asyncio.Lock()

    async def run(self) -> None:
        try:
            await relay(self.socket, self._frame, self._forward())
        finally:
            self._follow(None)

    async def _frame(self, raw: str) -> None:
        client_id = None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise InvalidInput("each frame must be a JSON object")
            client_id = _client_id(data.get("client_id"))
            await self._dispatch(data, client_id)
        except json.JSONDecodeError:
            await self._error("invalid_input", "each frame must be valid JSON", None)
        except RateLimited as exc:
            await self._error(exc.code, exc.message, client_id, retry_after=exc.retry_after)
        except HelplineError as exc:
            await self._error(exc.code, exc.message, client_id)
        except Exception as exc:
            if not unavailable(exc):
                raise
            # Not acknowledged: the widget keeps the message and sends it again after the wait.
            log.warning("database unavailable on the widget socket: %r", exc)
            message = "we are reconnecting; your message will be sent again"
            await self._error("unavailable", message, client_id, retry_after=RETRY_AFTER_S)

    async def _dispatch(self, data: dict[str, Any], client_id: str | None) -> None:
        kind = data.get("type")
        if kind == "hello":
            await self._hello(data.get("token"))
        elif not self.visitor:
            raise InvalidInput("say hello first")
        elif kind == "message":
            await self._message(data.get("text"), client_id)
        elif kind == "rating":
            await self._rating(data.get("rating"), data.get("comment"))
        elif kind == "typing":
            await self._typing()
        else:
            raise InvalidInput(f"unknown frame type {str(kind)[:40]!r}")

    async def _hello(self, token: object) -> None:
        secret = self.components.secret
        self.visitor = verify_token(secret, token) or uuid.uuid4().hex
        async with self.components.db.quick_session() as session:  # two lookups by index
            conversation = await find_open_conversation(session, CHANNEL, self.visitor)
            messages = await transcript(session, conversation.id) if conversation else []
        self._follow(conversation.id if conversation else None)
        status = conversation.status if conversation else "bot"
        await self.socket.send_json(
            {
                "type": "welcome",
                "token": sign_visitor(secret, self.visitor),
                "conversation_id": self.conversation_id,
                "status": status,
                "messages": [self._seen(m) for m in messages if not _is_survey(m)],
                "csat": {"question": self.components.settings.csat.question}
                if status == "awaiting_rating"
                else None,
            }
        )

    async def _message(self, text: object, client_id: str | None) -> None:
        if not isinstance(text, str):
            raise InvalidInput("`text` must be a string")
        await admit_message(self.components, self.limiter, self.visitor, self.address)
        inbound = InboundMessage(CHANNEL, self.visitor, text, external_id=client_id)
        async with self.turn_lock:
            turn = await self.components.engine.handle(inbound)
            self._follow(turn.conversation_id)
            await self.socket.send_json(
                {"type": "ack", "client_id": client_id, "message": self._seen(turn.message)}
            )
            for reply in turn.replies:
                await self._send_message(reply)

    async def _rating(self, rating: object, comment: object) -> None:
        if comment is not None and not isinstance(comment, str):
            raise InvalidInput("`comment` must be a string")
        refused: Conflict | None = None
        async with self.components.engine.unit_of_work() as session:
            conversation = await find_latest_conversation(session, CHANNEL, self.visitor)
            if conversation is None:
                raise InvalidInput("there is no conversation to rate")
            try:
                await record_csat(session, conversation, rating, comment or None)
            except Conflict as exc:
                refused = exc  # commit the recorded refusal: no rating is dropped silently
        if refused is not None:
            raise refused
        await self.socket.send_json(
            {"type": "rating_saved", "text": self.components.settings.csat.thanks}
        )

    async def _typing(self) -> None:
        """The customer is typing: agents who can see the conversation's ticket are told."""
        if self.conversation_id is None:
            return
        async with self.components.db.quick_session() as session:
            ticket = await active_ticket(session, self.conversation_id)
            if ticket is None:
                return
            scope = ticket_scope(ticket)
        activity = {"ticket_id": ticket.id, "who": "customer", "activity": "typing"}
        self.components.hub.publish(CONSOLE, {"kind": "activity", "scope": scope, "data": activity})

    async def _forward(self) -> None:
        while True:
            update = await self.updates.get()
            async with self.turn_lock:
                await self._deliver(update)

    async def _deliver(self, update: Payload) -> None:
        if update["kind"] == "message" and update["message"]["sender"] not in PRIVATE_SENDERS:
            await self._send_message(update["message"])
        elif update["kind"] == "status":
            await self.socket.send_json({"type": "status", "status": update["status"]})
        elif update["kind"] == "typing":
            await self.socket.send_json(
                {"type": "typing", "sender": "agent", "name": update["name"]}
            )
        elif update["kind"] == "csat_request":
            await self.socket.send_json({"type": "csat_request", "question": update["question"]})

    async def _send_message(self, message: Message | dict[str, Any]) -> None:
        if isinstance(message, Message) and _is_survey(message):
            return  # the survey travels as csat_request, published after the commit
        # A reply comes twice, from its turn and as a live update: the second is not rebuilt.
        message_id = message.id if isinstance(message, Message) else message["id"]
        if message_id in self.sent:
            return
        self.sent.add(message_id)
        data = self._seen(message) if isinstance(message, Message) else self._keyed(message)
        await self.socket.send_json({"type": "message", "message": data})

    def _seen(self, message: Message) -> dict[str, Any]:
        return self._keyed(message_json(message, with_nlu=False))

    def _keyed(self, data: dict[str, Any]) -> dict[str, Any]:
        return with_visitor_keys(self.components.secret, self.visitor, _public(data))

    def _follow(self, conversation_id: int | None) -> None:
        """Listen to the live updates of this conversation (and stop listening to the last one)."""
        hub = self.components.hub
        if self.conversation_id is not None:
            hub.detach(conversation_topic(self.conversation_id), self.updates)
        self.conversation_id = conversation_id
        if conversation_id is not None:
            hub.attach(conversation_topic(conversation_id), self.updates)

    async def _error(
        self, code: str, message: str, client_id: str | None, *, retry_after: int | None = None
    ) -> None:
        frame: dict[str, Any] = {
            "type": "error",
            "code": code,
            "message": message,
            "client_id": client_id,
        }
        if retry_after is not None:
            frame["retry_after"] = retry_after
        await self.socket.send_json(frame)


def _public(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "nlu"}


def _is_survey(message: Message) -> bool:
    return bool((message.extras or {}).get("csat_request"))


def _client_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_CLIENT_ID:
        raise InvalidInput(f"`client_id` must be a string of 1 to {MAX_CLIENT_ID} characters")
    return value


@routes.get("/ws/widget")
async def widget_socket(request: web.Request) -> web.WebSocketResponse:
    components = request.app[keys.COMPONENTS]
    check_origin(request, components.settings.channels.widget.allowed_origins)
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME)
    await socket.prepare(request)
    request.app[keys.SOCKETS].add(socket)
    limiter = request.app[keys.MESSAGE_LIMIT]
    await WidgetSession(components, socket, limiter, client_address(request)).run()
    return socket
