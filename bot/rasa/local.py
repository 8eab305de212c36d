"""helpline's own actions run by the engine for an intent config.yml maps to one of them: the
same handlers `helpline actions serve` offers Rasa, on the engine's conversation and parse."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from actions.errors import HelplineError
from bot.rasa.answer import record_slots
from bot.rasa.handlers import HANDLERS, Call, Outcome, RasaCall, Reply
from bot.rasa.tracker import conversation_slots
from bot.settings import Settings
from nlu.parse import Parse
from storage.models import Conversation

ERROR_SLOT = "helpline_error"


async def run_helpline_action(
    session: AsyncSession,
    settings: Settings,
    conversation: Conversation,
    action: str,
    parse: Parse,
) -> Outcome:
    """Run `action` in the engine's transaction; its slots are kept like an action server's.
    An action that cannot be done is undone (the customer's message stays) and its error is
    the reply."""
    call = RasaCall(
        sender_id=f"customer-{conversation.customer_id}",
        text=parse.text,
        intent=parse.intent.name,
        entities={e.entity: e.value for e in parse.entities},
        slots=await conversation_slots(session, conversation.id),
    )
    try:
        async with session.begin_nested():
            outcome = await HANDLERS[action](Call(session, settings, conversation, call))
    except HelplineError as error:
        extras = {"action": action, "error": error.code}
        outcome = Outcome([Reply(error.message, extras)], {ERROR_SLOT: error.code})
    record_slots(session, conversation, action, outcome.slots)
    return outcome
