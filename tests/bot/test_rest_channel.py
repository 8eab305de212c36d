"""Rasa's REST channel contract and /model/parse, and every kind of bad input they refuse."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.components import Components
from storage.models import Message, Ticket
from tests.bot.conftest import Client

WEBHOOK = "/webhooks/rest/webhook"


async def _count(components: Components, model: type) -> int:
    async with components.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_shipping_question_is_answered_from_the_kb_with_its_citation(
    client: Client,
) -> None:
    response = await client.post(
        WEBHOOK, json={"sender": "c1", "message": "how long does shipping to Germany take?"}
    )
    assert response.status == 200
    replies = await response.json()
    assert len(replies) == 1
    assert replies[0]["recipient_id"] == "c1"
    assert "Germany" in replies[0]["text"]
    assert replies[0]["citations"] == [
        {"title": "Shipping times and costs", "url": "/kb/shipping-times-and-costs"}
    ]


async def test_a_double_charge_creates_a_billing_ticket(
    client: Client, components: Components
) -> None:
    response = await client.post(
        WEBHOOK, json={"sender": "c2", "message": "I was charged twice, I want a refund"}
    )
    replies = await response.json()
    assert "billing" in replies[0]["text"]
    async with components.db.session() as session:
        tickets = list(await session.scalars(select(Ticket)))
    assert [t.queue.name for t in tickets] == ["billing"]
    assert f"#{tickets[0].id}" in replies[0]["text"]


async def test_an_intent_trigger_runs_that_intent(client: Client, components: Components) -> None:
    response = await client.post(WEBHOOK, json={"sender": "c3", "message": "/human_handoff"})
    assert "ticket #" in (await response.json())[0]["text"]
    assert await _count(components, Ticket) == 1


async def test_a_repeated_message_id_is_stored_once_and_answered_the_same(
    client: Client, components: Components
) -> None:
    body = {"sender": "c4", "message": "hello there", "message_id": "m-1"}
    first = await (await client.post(WEBHOOK, json=body)).json()
    stored = await _count(components, Message)
    second = await (await client.post(WEBHOOK, json=body)).json()
    assert second == first
    assert await _count(components, Message) == stored


async def test_bad_input_gets_a_clear_error_and_stores_nothing(
    client: Client, components: Components
) -> None:
    cases = [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"message": "hi"}', "sender"),
        (b'{"sender": "", "message": "hi"}', "sender"),
        (b'{"sender": "x", "message": ""}', "empty"),
        (b'{"sender": "x", "message": "   "}', "empty"),
        (b'{"sender": "x", "message": 42}', "string"),
        (b'{"sender": "x", "message": "' + b"a" * 100_000 + b'"}', "at most"),
    ]
    for body, expected in cases:
        response = await client.post(
            WEBHOOK, data=body, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400, body[:40]
        error = (await response.json())["error"]
        assert error["code"] == "invalid_input"
        assert expected in error["message"], (body[:40], error)
        assert "aaaa" not in error["message"]  # the request body is never echoed
    assert await _count(components, Message) == 0


async def test_model_parse_speaks_rasas_shape(client: Client) -> None:
    response = await client.post(
        "/model/parse", json={"text": "how long does shipping to Germany take?"}
    )
    body = await response.json()
    assert body["text"] == "how long does shipping to Germany take?"
    assert body["intent"]["name"] == "shipping_info"
    assert body["intent_ranking"][0] == body["intent"]
    assert {"entity": "country", "value": "Germany"}.items() <= body["entities"][0].items()
    assert body["sentiment"]["label"] in {"negative", "neutral", "positive"}
    assert body["language"] == "en"


async def test_health_reports_models_and_database(client: Client) -> None:
    body = await (await client.get("/health")).json()
    assert body["status"] == "ok"
    assert body["intents"] == 14
    assert body["kb_articles"] >= 20
    assert body["parse_process"] == "off"  # the test app parses on a thread
