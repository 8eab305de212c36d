"""The engine calling a Rasa action server (config.yml `actions.endpoint`) for intents mapped
to actions helpline lacks: a real rasa-sdk server on loopback runs a shop's own actions; a
customer writes through the REST channel; failures get an apology, a person and an event."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from sqlalchemy import select

from bot.components import Components
from bot.engine import Engine
from bot.rasa.answer import replies
from bot.rasa.client import ActionAnswer
from bot.rasa.handlers import HANDLERS
from bot.settings import (
    HANDOFF_ACTION,
    HELPLINE_ACTIONS,
    ActionsSettings,
    ConfigError,
    load_settings,
)
from bot.web.app import create_app
from storage.models import Conversation, Event, Message, Order, Ticket
from tests.bot.conftest import Client
from tests.bot.rasa_support import ROOT, ActionServerProcess
from tests.servers import free_port

WEBHOOK = "/webhooks/rest/webhook"
INTENTS = {
    "store_hours": "action_store_hours",
    "echo_tracker": "action_echo_tracker",
    "trouble": "action_broken",  # tests point it at other actions
}
SORRY = "Sorry, I can't do that right now."


@pytest.fixture(scope="module")
def store_actions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServerProcess]:
    """rasa-sdk's own server (`python -m rasa_sdk`) with the shop's actions."""
    args = ["-m", "rasa_sdk", "--actions", "tests.bot.rasa_store_actions", "--port", "{port}"]
    env = dict(os.environ, SANIC_HOST="127.0.0.1")
    log = tmp_path_factory.mktemp("rasa-sdk") / "actions.log"
    server = ActionServerProcess(args, env, log).start()
    try:
        yield server
    finally:
        server.stop()


AppClient = Callable[..., Awaitable[Client]]


async def _client(
    aiohttp_client: AppClient,
    components: Components,
    endpoint: str | None,
    intents: dict[str, str] | None = None,
    timeout_seconds: float = 5.0,
) -> Client:
    """The app with an engine whose config.yml names `endpoint` as the action server."""
    actions = ActionsSettings(
        endpoint=endpoint, timeout_seconds=timeout_seconds, intents=intents or INTENTS
    )
    settings = components.settings.model_copy(update={"actions": actions})
    components.settings = settings
    components.engine = Engine(
        settings, components.db, components.nlu, components.kb, components.hub
    )
    return await aiohttp_client(create_app(components))


async def _say(client: Client, text: str, sender: str = "shopper") -> list[dict[str, Any]]:
    response = await client.post(WEBHOOK, json={"sender": sender, "message": text})
    assert response.status == 200, await response.text()
    replies: list[dict[str, Any]] = await response.json()
    return replies


async def _events(components: Components, kind: str) -> list[Event]:
    async with components.db.session() as session:
        found = await session.scalars(select(Event).where(Event.type == kind).order_by(Event.id))
        return list(found)


async def test_the_action_servers_text_buttons_and_custom_payload_reach_the_customer(
    aiohttp_client: AppClient, components: Components, store_actions: ActionServerProcess
) -> None:
    client = await _client(aiohttp_client, components, store_actions.webhook)

    replies = await _say(client, "/store_hours")

    assert replies == [
        {
            "recipient_id": "shopper",
            "text": "Our Main Street store is open 9:00-18:00, Monday to Saturday.",
            "buttons": [
                {"title": "Directions", "payload": "/store_directions"},
                {"title": "Talk to a person", "payload": "/human_handoff"},
            ],
        },
        {"recipient_id": "shopper", "text": "", "custom": {"map": {"lat": 51.5, "lon": -0.12}}},
    ]
    async with components.db.session() as session:
        messages = list(await session.scalars(select(Message).order_by(Message.id)))
    assert [(m.sender, m.text[:9]) for m in messages] == [
        ("customer", "/store_ho"),
        ("bot", "Our Main "),
        ("bot", ""),
    ]
    slots = [(e.payload["slot"], e.payload["value"]) for e in await _events(components, "slot_set")]
    assert slots == [("store", "Main Street"), ("hours_asked", True)]
    [ran] = await _events(components, "remote_action_ran")
    assert ran.payload == {
        "action": "action_store_hours",
        "replies": 2,
        "ignored_responses": 0,
        "slots": ["store", "hours_asked"],
        "ignored_events": [],
    }


async def test_the_action_server_reads_helplines_tracker_as_rasas(
    aiohttp_client: AppClient, components: Components, store_actions: ActionServerProcess
) -> None:
    client = await _client(aiohttp_client, components, store_actions.webhook)
    await _say(client, "/store_hours")

    [echo] = await _say(client, '/echo_tracker{"store": "Harbour Road"}')

    assert echo["text"] == "echo"
    seen = echo["custom"]
    assert seen["sender_id"] == "shopper"
    assert seen["slots"] == {"store": "Main Street", "hours_asked": True}
    assert (seen["intent"], seen["entity"], seen["channel"]) == (
        "echo_tracker",
        "Harbour Road",
        "rest",
    )
    assert seen["user_events"] == ["/store_hours", '/echo_tracker{"store": "Harbour Road"}']
    assert {"utter_handoff", "utter_greet"} <= set(seen["domain_responses"])


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("action_broken", "server_error"),  # the action raised: rasa-sdk answers 500
        ("action_rejecting", "rejected"),  # ActionExecutionRejection: 400 with action_name, error
        ("action_nobody_wrote", "unknown_action"),  # rasa-sdk's 404
        ("action_slow", "timeout"),  # longer than timeout_seconds
    ],
)
async def test_a_failing_action_gets_an_apology_a_person_and_an_event(
    aiohttp_client: AppClient,
    components: Components,
    store_actions: ActionServerProcess,
    action: str,
    reason: str,
) -> None:
    intents = {**INTENTS, "trouble": action}
    # action_slow sleeps 5 s; the others answer at once, however busy the machine is
    timeout = 1.0 if reason == "timeout" else 30.0
    client = await _client(aiohttp_client, components, store_actions.webhook, intents, timeout)

    replies = await _say(client, "/trouble")

    await _assert_fell_back(components, replies, action, reason)


async def test_an_action_server_that_is_down_gets_the_same_fallback(
    aiohttp_client: AppClient, components: Components
) -> None:
    down = f"http://127.0.0.1:{free_port()}/webhook"  # nothing listens there
    client = await _client(aiohttp_client, components, down)

    replies = await _say(client, "/store_hours")

    await _assert_fell_back(components, replies, "action_store_hours", "unreachable")


@pytest.mark.parametrize(
    "answer",
    [
        web.Response(text="<html>gateway</html>", content_type="text/html"),
        web.json_response({"events": "none", "responses": []}),
        web.json_response(None),
    ],
)
async def test_a_malformed_answer_gets_the_fallback(
    aiohttp_client: AppClient,
    aiohttp_server: Callable[..., Awaitable[Any]],
    components: Components,
    answer: web.Response,
) -> None:
    async def webhook(request: web.Request) -> web.Response:
        await request.json()
        return answer

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    server = await aiohttp_server(app)
    client = await _client(aiohttp_client, components, str(server.make_url("/webhook")))

    replies = await _say(client, "/store_hours")

    await _assert_fell_back(components, replies, "action_store_hours", "malformed")


async def _assert_fell_back(
    components: Components, replies: list[dict[str, Any]], action: str, reason: str
) -> None:
    assert replies[0]["text"] == SORRY
    assert "ticket #" in replies[1]["text"] and len(replies) == 2
    [failed] = await _events(components, "remote_action_failed")
    assert (failed.payload["action"], failed.payload["reason"]) == (action, reason)
    async with components.db.session() as session:
        customer = await session.scalar(select(Message).where(Message.sender == "customer"))
        assert customer is not None and customer.text.startswith("/")
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None and conversation.status == "waiting"
        ticket = await session.scalar(select(Ticket))
        assert ticket is not None and ticket.conversation_id == conversation.id


async def test_the_engines_own_actions_need_no_action_server(
    aiohttp_client: AppClient, components: Components
) -> None:
    intents = {"store_hours": "utter_greet", "speak_to_someone": "action_handoff"}
    client = await _client(aiohttp_client, components, None, intents)

    [greeting] = await _say(client, "/store_hours")
    [handed] = await _say(client, "/speak_to_someone")

    assert greeting["text"] == components.settings.dialogue.responses["greet"]
    assert "ticket #" in handed["text"]


def test_an_action_without_an_action_server_stops_start_up(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["actions"] = {"intents": {"store_hours": "action_store_hours"}}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))

    with pytest.raises(ConfigError, match=r"action_store_hours.*set actions\.endpoint"):
        load_settings(path)


def test_responses_become_replies_as_rasas_channels_read_them() -> None:
    answer = ActionAnswer(
        responses=[
            {"response": "utter_greet", "buttons": [{"title": "Hours", "payload": "/hours"}]},
            {"text": "pick one", "buttons": [{"title": ""}, {"title": "Yes", "payload": "/yes"}]},
            {"image": "https://shop.example.com/map.png"},
            {"text": "", "custom": {}, "buttons": []},  # nothing a channel can show
            {"response": "utter_nonexistent"},
        ]
    )

    shown = replies(answer, {"greet": "Hello!"})

    assert [(r.text, r.extras) for r in shown.replies] == [
        ("Hello!", {"buttons": [{"title": "Hours", "payload": "/hours"}]}),
        ("pick one", {"buttons": [{"title": "Yes", "payload": "/yes"}]}),
        ("https://shop.example.com/map.png", {"image": "https://shop.example.com/map.png"}),
    ]
    assert shown.ignored == 2


async def test_helplines_own_actions_run_in_the_engine_without_an_action_server(
    aiohttp_client: AppClient, components: Components
) -> None:
    intents = {"order_status": "action_order_status", "rate": "action_record_csat"}
    client = await _client(aiohttp_client, components, None, intents)
    await _say(client, "/greet")
    async with components.db.session() as session, session.begin():
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None
        mine = conversation.customer_id
        session.add(Order(number="AF-104233", customer_id=mine, status="shipped", carrier="DHL"))

    [found] = await _say(client, "where is my order AF-104233?")
    [refused] = await _say(client, '/rate{"rating": "5"}')  # nobody asked for a rating yet

    assert found["text"] == "Order AF-104233 is shipped with DHL."
    assert refused["text"] == "this conversation is not waiting for a rating"
    slots = [(e.payload["slot"], e.payload["value"]) for e in await _events(components, "slot_set")]
    assert slots == [
        ("order_number", "AF-104233"),
        ("order_status", "shipped"),
        ("helpline_error", "conflict"),
    ]
    async with components.db.session() as session:
        said = select(Message.text).where(Message.sender == "customer").order_by(Message.id)
        assert list(await session.scalars(said)) == [
            "/greet",
            "where is my order AF-104233?",
            '/rate{"rating": "5"}',
        ]


def test_the_engine_and_the_action_endpoint_offer_the_same_helpline_actions() -> None:
    assert set(HANDLERS) == {*HELPLINE_ACTIONS, HANDOFF_ACTION}
