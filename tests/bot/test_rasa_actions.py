"""helpline's actions served to a Rasa server: `helpline actions serve` runs rasa-sdk's endpoint
and takes requests exactly as Rasa sends them; the changes land in the real database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from redis.asyncio import Redis
from sqlalchemy import select

from storage.database import Database
from storage.models import (
    ChannelIdentity,
    Conversation,
    CsatResponse,
    Customer,
    Event,
    Message,
    Order,
    Ticket,
)
from tests.bot.rasa_support import ROOT, ActionServerProcess, rasa_request
from tests.servers import RedisServer

SENDER = "a1b2c3d4"


def _config(tmp_path: Path, acting_user: str | None) -> Path:
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["actions"]["acting_user"] = acting_user
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _serve(
    tmp_path: Path, database_url: str, acting_user: str | None, redis_url: str = ""
) -> ActionServerProcess:
    config = _config(tmp_path, acting_user)
    args = ["-m", "bot", "actions", "serve", "--port", "{port}", "--config", str(config)]
    env = dict(os.environ, DATABASE_URL=database_url, HF_HUB_OFFLINE="1", REDIS_URL=redis_url)
    return ActionServerProcess(args, env, tmp_path / "actions.log").start()


@pytest.fixture
def action_server(tmp_path: Path, database_url: str) -> Iterator[ActionServerProcess]:
    """`helpline actions serve` on SQLite and on PostgreSQL; staff actions act as `sam`."""
    server = _serve(tmp_path, database_url, "sam")
    try:
        yield server
    finally:
        server.stop()


async def _post(server: ActionServerProcess, body: dict[str, Any]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.post(server.webhook, json=body) as response:
        return response.status, await response.json()


def _slots(answer: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in answer["events"] if e["event"] == "slot"}


async def test_create_ticket_answers_with_slots_and_the_ticket_is_stored(
    action_server: ActionServerProcess, db: Database
) -> None:
    text = "I was charged twice for my order, I want a refund"
    request = rasa_request("action_create_ticket", SENDER, text, "refund_request")

    status, answer = await _post(action_server, request)

    assert status == 200, answer
    slots = _slots(answer)
    assert slots["queue"] == "billing" and slots["ticket_status"] == "new"
    assert [r["text"] for r in answer["responses"]] == [
        f"I've opened ticket #{slots['ticket_id']} with our billing team."
    ]
    async with db.session() as session:
        ticket = await session.get(Ticket, slots["ticket_id"])
        assert ticket is not None
        assert (ticket.queue.name, ticket.subject, ticket.category) == (
            "billing",
            text,
            "refund_request",
        )
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.external_user_id == SENDER)
        )
        assert identity is not None and identity.channel == "rasa"
        assert ticket.conversation.customer_id == identity.customer_id
        messages = list(
            await session.scalars(
                select(Message)
                .where(Message.conversation_id == ticket.conversation_id)
                .order_by(Message.id)
            )
        )
        assert [(m.sender, m.intent) for m in messages] == [
            ("customer", "refund_request"),
            ("bot", None),
        ]

    # Rasa runs a second action after the same message: one ticket, the message stored once.
    status, again = await _post(action_server, request)
    assert status == 200
    assert _slots(again)["ticket_id"] == slots["ticket_id"]
    assert "already open" in again["responses"][0]["text"]
    async with db.session() as session:
        assert len(list(await session.scalars(select(Ticket)))) == 1
        customer = select(Message).where(Message.sender == "customer")
        assert len(list(await session.scalars(customer))) == 1


async def test_order_status_tells_the_customer_only_about_their_own_orders(
    action_server: ActionServerProcess, db: Database
) -> None:
    async with db.session() as session, session.begin():
        ana, bob = Customer(display_name="Ana"), Customer(display_name="Bob")
        session.add_all([ana, bob])
        await session.flush()
        session.add(ChannelIdentity(customer_id=ana.id, channel="rasa", external_user_id=SENDER))
        session.add_all(
            [
                Order(
                    number="AF-104233",
                    customer_id=ana.id,
                    status="shipped",
                    carrier="DHL",
                    tracking_number="JD0146000034",
                ),
                Order(number="AF-555555", customer_id=bob.id, status="delivered"),
            ]
        )

    text = "where is my order AF-104233?"
    entities = {"order_number": "AF-104233"}
    request = rasa_request("action_order_status", SENDER, text, "order_status", entities=entities)
    status, answer = await _post(action_server, request)

    assert status == 200, answer
    assert _slots(answer) == {"order_number": "AF-104233", "order_status": "shipped"}
    assert answer["responses"][0]["text"] == (
        "Order AF-104233 is shipped with DHL (tracking number JD0146000034)."
    )

    text = "and AF-555555?"
    other = rasa_request(
        "action_order_status",
        SENDER,
        text,
        "order_status",
        entities={"order_number": "AF-555555"},
        message_id="m-2",
    )
    status, answer = await _post(action_server, other)
    assert status == 200
    assert _slots(answer)["order_status"] is None
    assert "can't find order AF-555555" in answer["responses"][0]["text"]

    async with db.session() as session:
        lookups = await session.scalars(
            select(Event).where(Event.type == "order_status_lookup").order_by(Event.id)
        )
        assert [(e.payload["number"], e.payload["found"]) for e in lookups] == [
            ("AF-104233", True),
            ("AF-555555", False),
        ]


async def test_staff_actions_act_as_the_configured_user_and_the_customer_rates(
    action_server: ActionServerProcess, db: Database
) -> None:
    from actions.users import create_user  # noqa: PLC0415

    async with db.session() as session, session.begin():
        await create_user(session, "sam", "Sam", "supervisor", "a long password", ["billing"])
    call = rasa_request(
        "action_create_ticket", SENDER, "my card was charged twice", "billing_issue"
    )
    _, created = await _post(action_server, call)
    ticket_id = _slots(created)["ticket_id"]

    steps = [
        ("action_set_priority", "this is urgent", {"priority": "urgent"}),
        ("action_add_tag", "tag it", {"tag": "Double-Charge"}),
        ("action_resolve", "that's all, thanks", {}),
        ("action_record_csat", "5", {"rating": "5"}),
    ]
    answers = []
    for number, (action, text, entities) in enumerate(steps):
        body = rasa_request(
            action, SENDER, text, "inform", entities=entities, message_id=f"step-{number}"
        )
        status, answer = await _post(action_server, body)
        assert status == 200, answer
        assert "helpline_error" not in _slots(answer), answer
        answers.append(answer)

    assert _slots(answers[0])["ticket_priority"] == "urgent"
    assert _slots(answers[1])["tag"] == "double-charge"
    assert [r["text"] for r in answers[2]["responses"]] == [
        f"Ticket #{ticket_id} is resolved.",
        "How would you rate this conversation, from 1 (poor) to 5 (excellent)?",
    ]
    assert _slots(answers[3]) == {"csat_rating": 5}
    async with db.session() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        assert (ticket.priority, ticket.tags, ticket.status) == (
            "urgent",
            ["double-charge"],
            "resolved",
        )
        rating = await session.scalar(select(CsatResponse))
        assert rating is not None and (rating.rating, rating.ticket_id) == (5, ticket_id)
        conversation = await session.get(Conversation, ticket.conversation_id)
        assert conversation is not None and conversation.status == "closed"

    # A second rating is refused: an error slot and a message, not a crash.
    body = rasa_request("action_record_csat", SENDER, "1", "inform", message_id="late")
    status, answer = await _post(action_server, body)
    assert status == 200
    assert _slots(answer) == {"helpline_error": "conflict"}
    assert answer["responses"][0]["text"] == "this conversation is not waiting for a rating"


async def test_unknown_action_gets_rasa_sdks_404(tmp_path: Path, sqlite_url: str) -> None:
    server = _serve(tmp_path, sqlite_url, None)
    try:
        body = rasa_request("action_make_coffee", SENDER, "coffee please", "coffee")
        status, answer = await _post(server, body)
        assert status == 404
        assert answer == {
            "error": "No registered action found for name 'action_make_coffee'.",
            "action_name": "action_make_coffee",
        }
        # Without actions.acting_user staff actions are refused, saying what to set.
        await _post(server, rasa_request("action_create_ticket", SENDER, "help", "human_handoff"))
        body = rasa_request("action_add_tag", SENDER, "tag", "inform", entities={"tag": "x"})
        status, answer = await _post(server, body)
        assert (status, _slots(answer)) == (200, {"helpline_error": "forbidden"})
        assert "actions.acting_user" in answer["responses"][0]["text"]
    finally:
        server.stop()


def test_without_rasa_sdk_the_command_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from bot.cli import app  # noqa: PLC0415

    for module in ("rasa_sdk", "rasa_sdk.endpoint", "rasa_sdk.executor"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    config = _config(tmp_path, None)

    result = CliRunner().invoke(app, ["actions", "serve", "--config", str(config)])

    assert result.exit_code == 1
    assert "rasa-sdk is not installed: pip install 'helpline[rasa]'" in result.stderr


async def test_with_redis_the_consoles_see_rasas_tickets_live(
    tmp_path: Path, sqlite_url: str, redis_server: RedisServer
) -> None:
    """The action server publishes its changes through Redis, as every `helpline serve` does."""
    listener = Redis.from_url(redis_server.url)
    server = None
    try:
        async with listener.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe("helpline:live")
            server = _serve(tmp_path, sqlite_url, None, redis_url=redis_server.url)
            body = rasa_request("action_create_ticket", SENDER, "help me please", "human_handoff")
            _, answer = await _post(server, body)
            ticket_id = _slots(answer)["ticket_id"]

            tickets = []
            async with asyncio.timeout(10):
                while not tickets:
                    message = await pubsub.get_message(timeout=1)
                    if message is not None:
                        item = json.loads(message["data"])
                        if item["payload"].get("kind") == "ticket":
                            tickets.append(item["payload"]["data"]["id"])
            assert tickets == [ticket_id]
    finally:
        if server is not None:
            server.stop()
        await listener.aclose()


async def test_a_ticket_through_its_life_by_rasas_calls(tmp_path: Path, sqlite_url: str) -> None:
    from actions.users import create_user  # noqa: PLC0415

    db = Database(sqlite_url)
    server = _serve(tmp_path, sqlite_url, "sam")
    try:
        async with db.session() as session, session.begin():
            staff = (("sam", "Sam", "supervisor"), ("ada", "Ada Lovelace", "agent"))
            for username, name, role in staff:
                await create_user(session, username, name, role, "a long password", ["billing"])
        steps = [
            ("action_handoff", "I need my money back", "refund_request", {}),
            ("action_add_internal_note", "the customer mentions a chargeback", "inform", {}),
            ("action_assign", "give it to ada", "inform", {"agent": "ada"}),
            ("action_transfer", "it is about the parcel", "inform", {"queue": "orders"}),
            ("action_resolve", "all good", "inform", {}),
            ("action_reopen", "actually it is not solved", "inform", {}),
            ("action_resolve", "now it is", "inform", {}),
            ("action_close", "close it", "inform", {}),
        ]
        texts, states = [], []
        for number, (action, text, intent, entities) in enumerate(steps):
            body = rasa_request(
                action, SENDER, text, intent, entities=entities, message_id=f"life-{number}"
            )
            status, answer = await _post(server, body)
            assert status == 200, answer
            assert "helpline_error" not in _slots(answer), (action, answer)
            texts.append([r["text"] for r in answer["responses"]])
            async with db.session() as session:
                ticket = await session.scalar(select(Ticket))
                assert ticket is not None
                agent = ticket.assignee.username if ticket.assignee else None
                states.append((ticket.status, ticket.queue.name, agent))
        assert states == [
            ("new", "billing", None),
            ("new", "billing", None),
            ("open", "billing", "ada"),
            ("new", "orders", None),
            ("resolved", "orders", None),
            ("new", "orders", None),
            ("resolved", "orders", None),
            ("closed", "orders", None),
        ]
        ticket_id = _slots(answer)["ticket_id"]
        assert texts[0][0].startswith(f"I've passed this to our billing team (ticket #{ticket_id})")
        assert texts[1] == []  # an internal note is never told to the customer
        assert texts[2] == [f"Ada Lovelace is taking care of ticket #{ticket_id}."]
        assert texts[7] == [f"Ticket #{ticket_id} is closed."]
        async with db.session() as session:
            notes = select(Message.text).where(Message.sender == "note")
            assert list(await session.scalars(notes)) == ["the customer mentions a chargeback"]
    finally:
        server.stop()
        await db.dispose()


async def test_a_customer_message_through_rasa_starts_the_next_response_clock(
    tmp_path: Path, sqlite_url: str
) -> None:
    from actions.tickets import agent_reply  # noqa: PLC0415
    from actions.users import create_user  # noqa: PLC0415

    db = Database(sqlite_url)
    server = _serve(tmp_path, sqlite_url, "sam")
    try:
        async with db.session() as session, session.begin():
            for username, role in (("sam", "supervisor"), ("ada", "agent")):
                await create_user(session, username, username, role, "a long password", ["billing"])
        for number, (action, text, entities) in enumerate(
            [("action_handoff", "refund please", {}), ("action_assign", "ada", {"agent": "ada"})]
        ):
            body = rasa_request(
                action, SENDER, text, "refund_request", entities=entities, message_id=str(number)
            )
            assert (await _post(server, body))[0] == 200
        async with db.session() as session, session.begin():
            ticket = await session.scalar(select(Ticket))
            assert ticket is not None and ticket.assignee is not None
            await agent_reply(session, ticket, ticket.assignee, "Looking into it now.")
            assert ticket.next_response_due_at is None

        body = rasa_request("action_add_tag", SENDER, "any news?", "inform", message_id="2")
        body["tracker"]["slots"]["tag"] = "waiting-on-us"
        status, answer = await _post(server, body)

        assert status == 200 and _slots(answer)["tag"] == "waiting-on-us"
        async with db.session() as session:
            ticket = await session.scalar(select(Ticket))
            assert ticket is not None and ticket.next_response_due_at is not None
    finally:
        server.stop()
        await db.dispose()
