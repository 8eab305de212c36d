"""Running one of helpline's actions for a Rasa call: the customer's message is stored first,
then the action's change and its replies in one transaction; errors are kept too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import add_message, get_conversation, open_conversation
from actions.errors import HelplineError, NotFound
from bot.rasa.handlers import HANDLERS, RASA_CHANNEL, Call, Outcome, RasaCall
from bot.settings import Settings
from storage.database import Database
from storage.models import Conversation, Message


class ActionRunner:
    """helpline's actions against the database of `settings`, opened on first use (in the
    process that serves: rasa-sdk may hand the runner to a worker process)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._db: Database | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]  # a fresh runner in the worker

    @asynccontextmanager
    async def _unit(self) -> AsyncIterator[AsyncSession]:
        """One committed transaction. This process has no live subscribers: the console shows
        what Rasa's calls changed when it next loads."""
        if self._db is None:
            self._db = Database(self.settings.database_url)
        async with self._db.session() as session, session.begin():
            yield session

    async def close(self) -> None:
        if self._db is not None:
            await self._db.dispose()
            self._db = None

    async def run(self, action: str, call: RasaCall) -> Outcome:
        """Run `action` for the call; HelplineError (after keeping it) when it cannot be done."""
        handler = HANDLERS.get(action)
        if handler is None:
            raise NotFound(f"helpline has no action {action!r}")
        async with self._unit() as session:
            conversation = await open_conversation(session, RASA_CHANNEL, call.sender_id)
            await _store_customer_message(session, conversation, call)
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
    session: AsyncSession, conversation: Conversation, call: RasaCall
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
    await add_message(
        session,
        conversation,
        "customer",
        call.text,
        external_id=f"rasa:{call.message_id}" if call.message_id else None,
        annotations={"intent": call.intent, "entities": entities},
    )
