"""Concurrent customers share the encoder: their messages are encoded in common calls, once
each (the knowledge base reuses the NLU's vector), through the REST channel and /model/parse."""

from __future__ import annotations

import asyncio

from bot.components import Components
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
    components.engine.encoder = EncoderBatcher(recording)
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


async def test_the_knowledge_base_searches_with_the_fine_tuned_intent_vectors(
    client: Client, components: Components
) -> None:
    """The demo model is fine-tuned: its intents and the knowledge base's search both come from
    the tuned copy, so a greeting, a question and thanks are each encoded once."""
    assert components.nlu.fine_tuned
    assert components.kb.encoder.name == components.nlu.intent_encoder.name
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
    assert sum(recording.sizes) == len(texts)


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
