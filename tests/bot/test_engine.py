"""The engine's turn decisions through the REST channel: unclear twice goes to a person."""

from __future__ import annotations

from sqlalchemy import select

from bot.components import Components
from storage.models import Conversation, Ticket
from tests.bot.conftest import Client

WEBHOOK = "/webhooks/rest/webhook"


async def _say(client: Client, sender: str, text: str) -> list[dict]:
    response = await client.post(WEBHOOK, json={"sender": sender, "message": text})
    assert response.status == 200
    return await response.json()


async def test_unclear_message_asks_to_rephrase_then_hands_off(
    client: Client, components: Components
) -> None:
    rephrase = components.settings.dialogue.responses["rephrase"]
    first = await _say(client, "u", "qwzx blorft vemmick")
    assert first[0]["text"] == rephrase
    assert {"title": "Talk to a person", "payload": "/human_handoff"} in first[0]["buttons"]
    second = await _say(client, "u", "zzgrumph plover ytt")
    assert "ticket #" in second[0]["text"]
    async with components.db.session() as session:
        tickets = list(await session.scalars(select(Ticket)))
    assert [t.queue.name for t in tickets] == [components.settings.routing.default_queue]


async def test_a_clear_answer_in_between_resets_the_unclear_count(
    client: Client, components: Components
) -> None:
    await _say(client, "v", "qwzx blorft vemmick")
    answer = await _say(client, "v", "how long does shipping to Germany take?")
    assert answer[0]["citations"]
    again = await _say(client, "v", "zzgrumph plover ytt")
    assert again[0]["text"] == components.settings.dialogue.responses["rephrase"]


async def test_talk_to_a_person_goes_to_the_queue_of_the_last_topic(
    client: Client, components: Components
) -> None:
    await _say(client, "w", "which payment methods do you accept?")
    reply = await _say(client, "w", "let me talk to a person")
    assert "billing" in reply[0]["text"]


async def test_the_bot_is_silent_while_a_person_has_the_conversation(
    client: Client, components: Components
) -> None:
    await _say(client, "x", "let me talk to a person")
    assert await _say(client, "x", "hello? anyone there?") == []
    async with components.db.session() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation is not None and conversation.status == "waiting"


async def test_greeting_gets_the_configured_response(
    client: Client, components: Components
) -> None:
    reply = await _say(client, "y", "hi there")
    assert reply[0]["text"] == components.settings.dialogue.responses["greet"]
