"""Telegram, through python-telegram-bot: verified webhook (or polling) updates in; bot, agent and
survey messages out, within Telegram's rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
from typing import Any

# Opt in to python-telegram-bot's coming timedelta durations now (the old ones warn on every 429).
os.environ.setdefault("PTB_TIMEDELTA", "1")

from aiohttp import web
from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram import Message as TelegramMessage
from telegram.error import Forbidden, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, ExtBot

from actions.conversations import find_latest_conversation
from actions.csat import record_csat
from actions.errors import HelplineError, InvalidInput
from actions.messages import edit_customer_message, mark_unreachable
from bot.channels.telegram_files import fetch_files
from bot.channels.telegram_updates import check_update
from bot.engine import Engine, InboundMessage
from bot.live import Hub, Payload, channel_topic
from storage.models import ChannelIdentity, Conversation

log = logging.getLogger(__name__)
CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)
CSAT_PREFIX = "csat:"
OUTBOUND_SENDERS = ("bot", "agent", "system")


class TelegramChannel:
    """One bot token; `handle_update` is the inbound side, `run_outbound` the outbound side."""

    def __init__(
        self, engine: Engine, hub: Hub, token: str, secret: str | None, base_url: str | None
    ) -> None:
        self.engine, self.hub, self.secret = engine, hub, secret
        options: dict[str, Any] = {"rate_limiter": AIORateLimiter(max_retries=3)}
        if base_url:
            options["base_url"] = base_url.rstrip("/") + "/bot"
            options["base_file_url"] = base_url.rstrip("/") + "/file/bot"
        self.bot = ExtBot(token, **options)
        self._chats: dict[int, int] = {}  # conversation id -> Telegram chat id
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, polling: bool) -> None:
        await self.bot.initialize()
        self._tasks.append(asyncio.create_task(self.run_outbound()))
        if polling:
            await self.bot.delete_webhook()
            self._tasks.append(asyncio.create_task(self.poll()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.bot.shutdown()

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST: 403 unless the secret header matches (compared in constant time)."""
        given = request.headers.get(SECRET_HEADER, "")
        if self.secret is None or not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise web.HTTPForbidden(reason="wrong or missing secret token")
        try:
            data = await request.json()
        except ValueError as exc:
            raise InvalidInput("the update is not valid JSON") from exc
        await self.handle_update(self._parse(data))
        return web.json_response({"ok": True})

    def _parse(self, data: object) -> Update:
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise InvalidInput("the body is not a Telegram update (no update_id)")
        check_update(data)
        try:
            return Update.de_json(data, self.bot)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise InvalidInput(f"the update is malformed: {type(exc).__name__}") from exc

    async def poll(self) -> None:
        """Development mode: long-poll getUpdates; an update is confirmed once it is handled."""
        offset = 0
        while True:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=20)
            except TelegramError:
                log.warning("getUpdates failed; retrying in 3 s", exc_info=True)
                await asyncio.sleep(3)
                continue
            for update in updates:
                await self.handle_update(update)
                offset = update.update_id + 1

    async def handle_update(self, update: Update) -> None:
        if update.callback_query is not None:
            await self._callback(update)
        elif update.edited_message is not None:
            await self._edited(update.edited_message)
        elif update.message is not None:
            await self._message(update.message)

    async def _message(self, message: TelegramMessage) -> None:
        limit = self.engine.settings.attachments.max_bytes
        files = await fetch_files(self.bot, message, self.engine.files, limit)
        text = message.text or message.caption or ""
        if not text and files.empty:
            return  # service messages (joins, pins) carry nothing for the conversation
        user = message.from_user
        inbound = InboundMessage(
            CHANNEL,
            str(message.chat.id),
            text,
            external_id=str(message.message_id),
            display_name=user.full_name if user else None,
            attachments=files.accepted,
            refused=files.refused,
        )
        try:
            await self.engine.handle(inbound)
        except InvalidInput as exc:
            await self._send(message.chat.id, None, f"Sorry, I could not take that: {exc.message}")

    async def _edited(self, message: TelegramMessage) -> None:
        if not message.text:
            return
        async with self.engine.unit_of_work() as session:
            await edit_customer_message(
                session, CHANNEL, str(message.chat.id), str(message.message_id), message.text
            )

    async def _callback(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None  # checked by the caller
        chat = query.message.chat.id if query.message else query.from_user.id
        data = query.data or ""
        if data.startswith(CSAT_PREFIX):
            await self._rate(chat, data.removeprefix(CSAT_PREFIX))
        elif data:
            inbound = InboundMessage(CHANNEL, str(chat), data, external_id=f"callback-{query.id}")
            await self.engine.handle(inbound)
        with contextlib.suppress(TelegramError):
            await query.answer()

    async def _rate(self, chat: int, value: str) -> None:
        refused: HelplineError | None = None
        async with self.engine.unit_of_work() as session:
            conversation = await find_latest_conversation(session, CHANNEL, str(chat))
            if conversation is None:
                return
            try:
                await record_csat(session, conversation, int(value) if value.isdigit() else value)
            except HelplineError as exc:
                refused = exc  # the refusal is recorded; tell the customer after the commit
        text = refused.message if refused else self.engine.settings.csat.thanks
        await self._send(chat, None, text)

    async def run_outbound(self) -> None:
        """Send every bot, agent and system message of Telegram conversations, in order."""
        async with self.hub.subscribe(channel_topic(CHANNEL)) as updates:
            while True:
                await self._deliver(await updates.get())

    async def _deliver(self, update: Payload) -> None:
        message = update["message"]
        if message["sender"] not in OUTBOUND_SENDERS:
            return
        chat = await self._chat_for(message["conversation_id"])
        if chat is None:
            return
        markup = _survey_keyboard() if update.get("csat_request") else _buttons(message["buttons"])
        await self._send(chat, message["conversation_id"], _with_citations(message), markup)

    async def _send(
        self,
        chat: int,
        conversation_id: int | None,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        try:
            await self.bot.send_message(chat_id=chat, text=text, reply_markup=markup)
        except Forbidden as exc:
            if conversation_id is not None:
                async with self.engine.unit_of_work() as session:
                    await mark_unreachable(session, conversation_id, CHANNEL, exc.message)
        except (TimedOut, RetryAfter):
            # it may have been delivered: never send it twice
            log.warning("Telegram did not confirm a message to chat %s; not resending", chat)
        except TelegramError:
            log.exception("Telegram refused a message to chat %s", chat)

    async def _chat_for(self, conversation_id: int) -> int | None:
        if conversation_id not in self._chats:
            async with self.engine.db.session() as session:
                external = await session.scalar(
                    select(ChannelIdentity.external_user_id)
                    .join(Conversation, Conversation.customer_id == ChannelIdentity.customer_id)
                    .where(Conversation.id == conversation_id)
                    .where(ChannelIdentity.channel == CHANNEL)
                )
            if external is None or not external.lstrip("-").isdigit():
                return None
            self._chats[conversation_id] = int(external)
        return self._chats[conversation_id]


def _with_citations(message: dict[str, Any]) -> str:
    lines = [message["text"]]
    lines += [f"Source: {c['title']}" for c in message.get("citations", [])]
    return "\n".join(lines)


def _buttons(buttons: list[dict[str, str]]) -> InlineKeyboardMarkup | None:
    usable = [b for b in buttons if len(b["payload"].encode()) <= 64]  # Telegram's limit
    if not usable:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["title"], callback_data=b["payload"])] for b in usable]
    )


def _survey_keyboard() -> InlineKeyboardMarkup:
    row = [InlineKeyboardButton(str(n), callback_data=f"{CSAT_PREFIX}{n}") for n in range(1, 6)]
    return InlineKeyboardMarkup([row])
