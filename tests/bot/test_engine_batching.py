"""Concurrent customers share the encoder: their messages are encoded in common calls, once
each (the knowledge base reuses the NLU's vector), through the REST channel and /model/parse."""

from __future__ import annotations

import asyncio

from bot.components import Components
from bot.engine import answered_without_kb, route_for
from nlu.batcher import EncoderBatcher
from tests.bot.conftest import Client
from tests.nlu.test_batcher import RecordingEncoder

WEBHOOK = "/webhooks/rest/webhook"
QUESTIONS = [
    "how long does shipping to Germany take?",
    "which payment methods do you accept?",
    "how do I return an item?",
    "do gift cards expire?",
    "can I change my order after paying?",
    "how do I reset my password?",
]


def recording_batcher(components: Components) -> RecordingEncoder:
    """The app's encoder wrapped to record calls, shared by the engine and /model/parse."""
    batcher = components.engine.encoder
    recording = RecordingEncoder(batcher.encoder)
    components.engine.encoder = EncoderBatcher(recording, vectorless=batcher.vectorless)
    return recording


async def test_concurrent_messages_share_encoder_calls_and_are_encoded_once(
    client: Client, components: Components
) -> None:
    recording = recording_batcher(components)

    async def ask(i: int, text: str) -> list[dict]:
        response = await client.post(WEBHOOK, json={"sender": f"c{i}", "message": text})
        assert response.status == 200
        return await response.json()

    answers = await asyncio.gather(*(ask(i, q) for i, q in enumerate(QUESTIONS)))
    assert all(a and a[0]["text"] for a in answers)
    assert sum(1 for a in answers if a[0].get("citations")) >= len(QUESTIONS) - 1
    assert sum(recording.sizes) == len(QUESTIONS)  # once per message: NLU and KB share it
    assert len(recording.sizes) < len(QUESTIONS)
    assert max(recording.sizes) > 1


async def test_messages_the_knowledge_base_does_not_answer_are_not_encoded_for_it(
    client: Client, components: Components
) -> None:
    """The demo model is fine-tuned: its intents come from its own encoder, and the shipped
    encoder's vector serves only the knowledge base, so a greeting and thanks skip it."""
    assert components.nlu.fine_tuned
    assert {"greet", "thank_you"} <= components.engine.encoder.vectorless
    recording = recording_batcher(components)
    texts = ["hello", QUESTIONS[0], "thanks a lot"]

    async def say(i: int, text: str) -> list[dict]:
        response = await client.post(WEBHOOK, json={"sender": f"v{i}", "message": text})
        assert response.status == 200
        return await response.json()

    hello, answer, thanks = await asyncio.gather(*(say(i, t) for i, t in enumerate(texts)))
    responses = components.settings.dialogue.responses
    assert hello[0]["text"] == responses["greet"]
    assert thanks[0]["text"] == responses["thank_you"]
    assert answer[0]["citations"]
    assert sum(recording.sizes) == 1  # the question alone


def test_intents_answered_without_the_knowledge_base_are_the_routes_other_than_it(
    components: Components,
) -> None:
    settings = components.settings
    intents = {*components.nlu.intents, "nlu_fallback"}
    for intent in intents | set(settings.actions.intents) | set(settings.dialogue.handoff_intents):
        assert (intent in answered_without_kb(settings)) == (
            route_for(settings, intent) != "knowledge_base"
        ), intent


async def test_concurrent_model_parse_requests_are_batched_and_answer_as_alone(
    client: Client, components: Components
) -> None:
    recording = recording_batcher(components)

    async def parse(text: str) -> dict:
        response = await client.post("/model/parse", json={"text": text})
        assert response.status == 200
        return await response.json()

    parsed = await asyncio.gather(*(parse(q) for q in QUESTIONS))
    assert len(recording.sizes) < len(QUESTIONS)
    for question, result in zip(QUESTIONS, parsed, strict=True):
        alone = components.nlu.parse(question).as_rasa()
        assert result["intent"]["name"] == alone["intent"]["name"]
        assert abs(result["intent"]["confidence"] - alone["intent"]["confidence"]) < 1e-3
