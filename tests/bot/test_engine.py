"""The engine's turn decisions through the REST channel: unclear twice goes to a person, a
question the NLU recognised is answered with less confidence than one it could not place, and
below the answer threshold the bot offers its best articles to choose from."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from actions.conversations import transcript
from bot.components import Components
from bot.engine import KB_CHOICE, choice_payload
from bot.settings import Settings
from bot.web.app import create_app
from knowledge_base.answer import CHOICES, answer_from_article, draft_answer
from knowledge_base.index import KnowledgeBaseIndex
from nlu.model import NLUModel
from storage.models import Conversation, Ticket
from tests.bot.conftest import Client
from tests.conftest import wired

WEBHOOK = "/webhooks/rest/webhook"
# The NLU recognises it (shipping_info); its best article's confidence lies between the
# configured thresholds for recognised (0.7) and unplaced (0.9) messages.
RECOGNISED = "how long does delivery take to Austria?"
# The NLU recognises it (order_status); its best article (Tracking your order) is not sure
# enough to answer, but sure enough to be offered.
CLARIFIED = "where is my order?"


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


async def test_a_recognised_question_is_answered_below_the_fallback_threshold(
    client: Client, components: Components, served_kb: KnowledgeBaseIndex
) -> None:
    answer = draft_answer(RECOGNISED, served_kb, 0.0)
    assert answer is not None
    thresholds = components.settings.knowledge_base
    assert thresholds.threshold_for("shipping_info") <= answer.confidence
    assert answer.confidence < thresholds.answer_threshold  # the case this test is about
    reply = await _say(client, "r", RECOGNISED)
    assert reply[0]["citations"][0]["title"] == "Shipping times and costs"


async def test_without_an_in_scope_threshold_the_fallback_threshold_applies(
    aiohttp_client: Callable[..., Awaitable[Client]],
    base_settings: Settings,
    sqlite_url: str,
    demo_model_dir: Path,
    demo_nlu: NLUModel,
    served_kb: KnowledgeBaseIndex,
    tmp_path: Path,
) -> None:
    kb = base_settings.knowledge_base.model_copy(update={"answer_threshold_in_scope": None})
    strict = base_settings.model_copy(update={"knowledge_base": kb})
    built = await wired(strict, sqlite_url, demo_model_dir, demo_nlu, served_kb, tmp_path / "files")
    try:
        client = await aiohttp_client(create_app(built))
        reply = await _say(client, "s", RECOGNISED)
        assert "citations" not in reply[0]  # not answered: the bot asks which article is meant
        assert reply[0]["text"] == strict.dialogue.clarify
    finally:
        await built.db.dispose()


async def test_an_unsure_answer_offers_the_best_articles_and_a_press_answers_from_one(
    client: Client, components: Components, served_kb: KnowledgeBaseIndex, demo_nlu: NLUModel
) -> None:
    settings = components.settings
    intent = demo_nlu.parse(CLARIFIED).intent.name
    best = draft_answer(CLARIFIED, served_kb, 0.0)
    assert best is not None and best.citations[0].article_id == "order-tracking"
    thresholds = settings.knowledge_base
    assert thresholds.clarify_threshold is not None
    assert thresholds.clarify_threshold <= best.confidence < thresholds.threshold_for(intent)

    offer = await _say(client, "c", CLARIFIED)
    assert offer[0]["text"] == settings.dialogue.clarify
    assert "citations" not in offer[0]
    buttons = offer[0]["buttons"]
    assert len(buttons) == CHOICES
    tracking = {"title": "Tracking your order", "payload": choice_payload("order-tracking")}
    assert buttons[0] == tracking

    answer = await _say(client, "c", tracking["payload"])
    assert answer[0]["citations"] == [{"title": "Tracking your order", "url": "/kb/order-tracking"}]
    chosen = answer_from_article(CLARIFIED, served_kb, "order-tracking")
    assert chosen is not None and answer[0]["text"] == chosen.text
    async with components.db.session() as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None
        stored = await transcript(session, conversation.id)
    assert [(m.sender, m.intent) for m in stored] == [
        ("customer", intent),
        ("bot", None),
        ("customer", KB_CHOICE),
        ("bot", None),
    ]
    assert conversation.unclear_count == 0  # answered
    assert conversation.last_intent == intent  # the question's topic, not the button's


async def test_a_press_for_an_article_that_is_gone_asks_to_rephrase(
    client: Client, components: Components
) -> None:
    reply = await _say(client, "g", choice_payload("no-such-article"))
    assert reply[0]["text"] == components.settings.dialogue.responses["rephrase"]


def test_a_choice_fits_in_a_telegram_button_whatever_the_article_id() -> None:
    longest = "x" * 60  # an FAQ's id is its question, slugified, up to 60 characters
    assert len(choice_payload(longest).encode()) <= 64  # Telegram's limit for callback data
    assert choice_payload(longest) != choice_payload("y" * 60)


async def test_an_offer_of_articles_counts_as_unsure_towards_the_hand_off(
    client: Client, components: Components
) -> None:
    offer = await _say(client, "h", CLARIFIED)
    assert offer[0]["text"] == components.settings.dialogue.clarify
    second = await _say(client, "h", "qwzx blorft vemmick")
    assert "ticket #" in second[0]["text"]


class _HeldSearch:
    """The demo knowledge base, except that a search for `held` waits until released."""

    def __init__(self, index: KnowledgeBaseIndex, held: str) -> None:
        self._index = index
        self._held = held
        self.searching = threading.Event()
        self.release = threading.Event()

    def search(self, query: str, *args: Any, **kwargs: Any) -> Any:
        if query == self._held:
            self.searching.set()
            assert self.release.wait(30), "the test never released the search"
        return self._index.search(query, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


async def test_a_slow_search_does_not_hold_up_other_conversations(
    client: Client, components: Components, served_kb: KnowledgeBaseIndex
) -> None:
    """The answer is drafted before the turn's transaction: on SQLite one writer at a time
    runs in this process, and another customer must not wait for this one's search."""
    held = _HeldSearch(served_kb, RECOGNISED)
    components.engine.kb = held  # type: ignore[assignment]
    slow = asyncio.create_task(_say(client, "slow", RECOGNISED))
    assert await asyncio.to_thread(held.searching.wait, 30)
    greeting = await asyncio.wait_for(_say(client, "quick", "hello"), 30)
    assert greeting[0]["text"] == components.settings.dialogue.responses["greet"]
    assert not slow.done()
    held.release.set()
    answer = await slow
    assert answer[0]["citations"][0]["title"] == "Shipping times and costs"
