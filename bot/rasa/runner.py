"""Running one of helpline's actions for a Rasa call: the customer's message is stored first,
then the action's change and its replies in one transaction; errors are kept too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import add_message, get_conversation, open_conversation
from actions.errors import HelplineError, NotFound
from actions.lifecycle import customer_wrote
from bot.live import Hub, LocalHub, unit_of_work
from bot.rasa.handlers import HANDLERS, RASA_CHANNEL, Call, Outcome, RasaCall
from bot.redis_client import connect
from bot.redis_hub import RedisHub
from bot.settings import Settings
from storage.database import Database
from storage.models import Conversation, Message


class ActionRunner:
    """helpline's actions against the database of `settings`. The database and the live hub
    are opened on first use, in the event loop that serves."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._opened: tuple[Database, Hub] | None = None
        self._opening = asyncio.Lock()

    async def _open(self) -> tuple[Database, Hub]:
        async with self._opening:  # concurrent first calls open once
            if self._opened is None:
                url = self.settings.redis_url
                hub: Hub = RedisHub(connect(url)) if url else LocalHub()
                await hub.start()
                self._opened = (Database(self.settings.database_url), hub)
        return self._opened

    @asynccontextmanager
    async def _unit(self) -> AsyncIterator[AsyncSession]:
        """One committed transaction. With `redis_url` its changes reach the consoles of the
        `helpline serve` workers live; without, they show when the console next loads."""
        db, hub = await self._open()
        async with unit_of_work(db, hub, self.settings.csat.question) as session:
            yield session

    async def close(self) -> None:
        if self._opened is not None:
            db, hub = self._opened
            self._opened = None
            await hub.close()
            await db.dispose()

    async def run(self, action: str, call: RasaCall) -> Outcome:
        """Run `action` for the call; HelplineError (after keeping it) when it cannot be done."""
        handler = HANDLERS.get(action)
        if handler is None:
            raise NotFound(f"helpline has no action {action!r}")
        async with self._unit() as session:
            conversation = await open_conversation(session, RASA_CHANNEL, call.sender_id)
            reopen = self.settings.routing.reopen_within_days
            await _store_customer_message(session, conversation, call, reopen)
            conversation_id = conversation.id
        try:
            async with self._unit() as session:
                conversation = await get_conversation(session, conversation_id)
                outcome = await handler(Call(session, self.settings, conversation, call))
                for reply in outcome.replies:
                    await add_message(session, conversation, "bot", reply.text, extras=reply.extras)
        except HelplineError as error:
            async with self._unit() as session:
                conversation = await get_conversation(session, conversation_id)
                extras = {"action": action, "error": error.code}
                await add_message(session, conversation, "bot", error.message, extras=extras)
            raise
        return outcome


async def _store_customer_message(
    session: AsyncSession, conversation: Conversation, call: RasaCall, reopen_within_days: float
) -> None:
    """The message Rasa answers, once (by its message id) so agents see the whole exchange."""
    if not call.text:
        return
    if call.message_id is None:
        last = await session.scalar(
            select(Message.text)
            .where(Message.conversation_id == conversation.id, Message.sender == "customer")
            .order_by(Message.id.desc())
            .limit(1)
        )
        if last == call.text:
            return  # a second action after the same message
    entities = [{"entity": k, "value": v} for k, v in call.entities.items()]
    _, new = await add_message(
        session,
        conversation,
        "customer",
        call.text,
        external_id=f"rasa:{call.message_id}" if call.message_id else None,
        annotations={"intent": call.intent, "entities": entities},
    )
    if new and conversation.status in ("waiting", "with_agent"):  # a person's reply is now due
        await customer_wrote(session, conversation, reopen_within_days=reopen_within_days)
