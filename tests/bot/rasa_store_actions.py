"""A shop's own Rasa custom actions, served by rasa-sdk (`python -m rasa_sdk --actions ...`)
for the engine's action-server tests: they answer, echo what Rasa's request carried, fail."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection

Events = list[dict[str, Any]]


class ActionStoreHours(Action):
    def name(self) -> str:
        return "action_store_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        store = tracker.get_slot("store") or "Main Street"
        dispatcher.utter_message(
            text=f"Our {store} store is open 9:00-18:00, Monday to Saturday.",
            buttons=[
                {"title": "Directions", "payload": "/store_directions"},
                {"title": "Talk to a person", "payload": "/human_handoff"},
            ],
        )
        dispatcher.utter_message(json_message={"map": {"lat": 51.5, "lon": -0.12}})
        return [SlotSet("store", store), SlotSet("hours_asked", True)]


class ActionEchoTracker(Action):
    """Says what Rasa's request held, so the test sees helpline's tracker as rasa-sdk read it."""

    def name(self) -> str:
        return "action_echo_tracker"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        dispatcher.utter_message(
            text="echo",
            json_message={
                "sender_id": tracker.sender_id,
                "slots": tracker.current_slot_values(),
                "intent": tracker.get_intent_of_latest_message(),
                "entity": next(tracker.get_latest_entity_values("store"), None),
                "text": tracker.latest_message.get("text"),
                "channel": tracker.get_latest_input_channel(),
                "user_events": [e["text"] for e in tracker.events if e["event"] == "user"],
                "domain_responses": sorted(domain.get("responses", {})),
            },
        )
        return []


class ActionBroken(Action):
    def name(self) -> str:
        return "action_broken"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        raise RuntimeError("the store database is down")


class ActionRejecting(Action):
    def name(self) -> str:
        return "action_rejecting"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        raise ActionExecutionRejection(self.name(), "no store was given")


class ActionSlow(Action):
    def name(self) -> str:
        return "action_slow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        await asyncio.sleep(5)
        return []
