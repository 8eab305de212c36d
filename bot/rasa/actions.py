"""helpline's actions as rasa-sdk actions, named as a Rasa domain calls them; each reads the
tracker, runs the action through `ActionRunner` and answers with messages and SlotSet events."""

from __future__ import annotations

from typing import Any, ClassVar

try:
    from rasa_sdk import Action, Tracker
    from rasa_sdk.events import SlotSet
    from rasa_sdk.executor import CollectingDispatcher
except ImportError as exc:  # the optional extra is not installed
    raise ImportError("rasa-sdk is not installed: pip install 'helpline[rasa]'") from exc

from actions.errors import HelplineError
from bot.rasa.handlers import call_from_tracker
from bot.rasa.runner import ActionRunner

ERROR_SLOT = "helpline_error"  # the error's code when an action could not be done


class HelplineAction(Action):
    action_name: ClassVar[str]

    def __init__(self, runner: ActionRunner) -> None:
        self.runner = runner

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        call = call_from_tracker(tracker.sender_id, tracker.latest_message, tracker.slots)
        try:
            outcome = await self.runner.run(self.action_name, call)
        except HelplineError as error:
            dispatcher.utter_message(text=error.message)
            return [SlotSet(ERROR_SLOT, error.code)]
        for reply in outcome.replies:
            dispatcher.utter_message(text=reply.text)
        events: list[dict[str, Any]] = [SlotSet(k, v) for k, v in outcome.slots.items()]
        return events


class ActionCreateTicket(HelplineAction):
    action_name = "action_create_ticket"


class ActionHandoff(HelplineAction):
    action_name = "action_handoff"


class ActionOrderStatus(HelplineAction):
    action_name = "action_order_status"


class ActionRecordCsat(HelplineAction):
    action_name = "action_record_csat"


class ActionSetPriority(HelplineAction):
    action_name = "action_set_priority"


class ActionAddTag(HelplineAction):
    action_name = "action_add_tag"


class ActionAddInternalNote(HelplineAction):
    action_name = "action_add_internal_note"


class ActionAssign(HelplineAction):
    action_name = "action_assign"


class ActionTransfer(HelplineAction):
    action_name = "action_transfer"


class ActionResolve(HelplineAction):
    action_name = "action_resolve"


class ActionReopen(HelplineAction):
    action_name = "action_reopen"


class ActionClose(HelplineAction):
    action_name = "action_close"


ACTIONS: tuple[type[HelplineAction], ...] = (
    ActionCreateTicket,
    ActionHandoff,
    ActionOrderStatus,
    ActionRecordCsat,
    ActionSetPriority,
    ActionAddTag,
    ActionAddInternalNote,
    ActionAssign,
    ActionTransfer,
    ActionResolve,
    ActionReopen,
    ActionClose,
)
