"""The knowledge-gaps page on hand-built conversations: which questions count as unanswered,
how they are grouped, the period filter and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.components import Components
from bot.engine import KB_CHOICE, choice_payload
from storage.models import Conversation, Customer, Message, utcnow
from tests.bot.conftest import Client, login

CITED = {"citations": [{"title": "Shipping", "url": "/kb/shipping"}]}


async def _conversation(
    components: Components, exchanges: list[tuple[str, str | None, str, dict | None]], days_ago: int
) -> None:
    """One conversation: (customer text, its intent, the bot's reply, the reply's extras)."""
    at = utcnow() - timedelta(days=days_ago)
    async with components.db.session() as session, session.begin():
        customer = Customer(display_name="Visitor")
        session.add(customer)
        await session.flush()
        conversation = Conversation(customer_id=customer.id, channel="rest", created_at=at)
        session.add(conversation)
        await session.flush()
        for i, (text, intent, reply, extras) in enumerate(exchanges):
            when = at + timedelta(minutes=i)
            session.add(
                Message(
                    conversation_id=conversation.id,
                    sender="customer",
                    text=text,
                    intent=intent,
                    created_at=when,
                )
            )
            await session.flush()
            session.add(
                Message(
                    conversation_id=conversation.id,
                    sender="bot",
                    text=reply,
                    extras=extras,
                    created_at=when,
                )
            )
            await session.flush()


async def _history(components: Components) -> None:
    rephrase = components.settings.dialogue.responses["rephrase"]
    handoff = components.settings.dialogue.handoff_intents[0]
    await _conversation(
        components,
        [
            ("do you offer gift wrapping?", "faq", rephrase, {"buttons": []}),
            ("can you gift wrap my order", "faq", "You are next in line for billing.", None),
            ("how long does shipping take?", "faq", "2-3 days.", CITED),
        ],
        days_ago=1,
    )
    await _conversation(
        components,
        [
            ("is gift wrapping available", "faq", rephrase, {"buttons": []}),
            ("blorp zzkx", "nlu_fallback", rephrase, {"buttons": []}),
            ("I want a person", handoff, "Passing you to a person.", None),
        ],
        days_ago=2,
    )
    await _conversation(
        components,
        [("can I pay with bitcoin?", "faq", rephrase, {"buttons": []})],
        days_ago=40,
    )


async def test_unanswered_questions_are_grouped_with_counts_and_filtered_by_period(
    client: Client, components: Components, users: dict[str, int]
) -> None:
    await _history(components)
    await login(client, "sam")
    page = await (await client.get("/kb/gaps?period=7d")).text()
    assert "gift wrap" in page
    assert "bitcoin" not in page  # 40 days ago
    assert "shipping" not in page  # answered with a citation
    assert "I want a person" not in page  # asked for a person: not a gap

    exported = await client.get("/kb/gaps.csv?period=90d")
    assert exported.status == 200 and exported.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await exported.text())))
    by_count = [(int(r["count"]), r["questions"]) for r in rows]
    assert by_count[0][0] == 3 and by_count[0][1].count("wrap") == 3  # with the hand-off after
    assert sorted(n for n, _ in by_count) == [1, 1, 3]
    fallback = next(r for r in rows if "blorp" in r["questions"])
    assert fallback["fallback"] == "1" and fallback["abstained"] == "0"
    assert any("bitcoin" in q for _, q in by_count)


async def test_an_offer_of_articles_is_a_gap_and_the_press_on_one_is_not(
    client: Client, components: Components, users: dict[str, int]
) -> None:
    dialogue = components.settings.dialogue
    await _conversation(
        components,
        [
            ("where has my parcel got to", "order_status", dialogue.clarify, {"buttons": []}),
            (choice_payload("order-tracking"), KB_CHOICE, "Track it in your account.", CITED),
            (choice_payload("gone"), KB_CHOICE, dialogue.responses["rephrase"], {"buttons": []}),
        ],
        days_ago=1,
    )
    await login(client, "sam")
    rows = list(csv.DictReader(io.StringIO(await (await client.get("/kb/gaps.csv")).text())))
    assert [(r["questions"], r["abstained"]) for r in rows] == [("where has my parcel got to", "1")]


async def test_gaps_are_for_supervisors_only(
    client: Client, components: Components, users: dict[str, int]
) -> None:
    await login(client, "ada")
    assert (await client.get("/kb/gaps")).status == 403
    assert (await client.get("/kb/gaps.csv")).status == 403
