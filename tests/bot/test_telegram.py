"""Telegram end to end: python-telegram-bot against a Bot API server on loopback, updates posted
to helpline's real webhook endpoint."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from bot.components import Components, telegram_channel
from bot.settings import ConfigError
from bot.web.app import create_app
from storage.models import Attachment, CsatResponse, Event, Message
from tests.bot.conftest import Client, login
from tests.bot.telegram_api import TOKEN, FakeBotApi, file_update, text_update

SECRET = "s3cret-webhook-token"
HOOK = "/webhooks/telegram"
CHAT = 4242


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi()
    await fake.server.start_server()
    yield fake
    await fake.server.close()


@pytest.fixture
async def tg_client(
    aiohttp_client: Callable[..., Awaitable[Client]], components: Components, api: FakeBotApi
) -> Client:
    components.telegram = TelegramChannel(components.engine, components.hub, TOKEN, SECRET, api.url)
    return await aiohttp_client(create_app(components))


async def post(client: Client, update: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = await client.post(HOOK, json=update, headers=headers)
    return response.status


async def count(components: Components, model: type, *where: Any) -> int:
    async with components.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_updates_without_the_secret_are_refused(
    tg_client: Client, components: Components
) -> None:
    assert await post(tg_client, text_update(1, CHAT, "hi"), secret=None) == 403
    assert await post(tg_client, text_update(1, CHAT, "hi"), secret="wrong") == 403
    assert await count(components, Message) == 0
    bad = await tg_client.post(HOOK, data=b"{", headers={SECRET_HEADER: SECRET})
    assert bad.status == 400
    assert await post(tg_client, {"no": "update"}) == 400


async def test_a_question_is_answered_in_the_chat_with_its_source(
    tg_client: Client, api: FakeBotApi
) -> None:
    assert (
        await post(tg_client, text_update(10, CHAT, "how long does shipping to Germany take?"))
        == 200
    )
    await api.wait_for(lambda: len(api.sent(CHAT)) == 1)
    reply = api.sent(CHAT)[0]["text"]
    assert "Germany" in reply and "Source: Shipping times and costs" in reply


def callback_update(update_id: int, query_id: str, data: str) -> dict[str, Any]:
    """The update Telegram sends when the customer presses an inline button with `data`."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id,
            "chat_instance": "x",
            "data": data,
            "from": {"id": CHAT, "is_bot": False, "first_name": "Kim"},
            "message": {
                "message_id": 9,
                "date": int(time.time()),
                "chat": {"id": CHAT, "type": "private"},
            },
        },
    }


async def test_the_articles_offered_are_buttons_and_a_press_answers_from_one(
    tg_client: Client, components: Components, api: FakeBotApi
) -> None:
    assert await post(tg_client, text_update(15, CHAT, "where is my order?")) == 200
    await api.wait_for(lambda: len(api.sent(CHAT)) == 1)
    offer = api.sent(CHAT)[0]
    assert offer["text"] == components.settings.dialogue.clarify
    rows = offer["reply_markup"]["inline_keyboard"]
    assert rows[0][0]["text"] == "Tracking your order"
    assert len(rows) == 3  # every article offered has its button
    pressed = callback_update(16, "cb-choice", rows[0][0]["callback_data"])
    assert await post(tg_client, pressed) == 200
    await api.wait_for(lambda: len(api.sent(CHAT)) == 2)
    assert "Source: Tracking your order" in api.sent(CHAT)[1]["text"]


async def test_an_update_delivered_twice_at_once_is_stored_and_answered_once(
    tg_client: Client, components: Components, api: FakeBotApi
) -> None:
    update = text_update(20, CHAT, "hi there")
    statuses = await asyncio.gather(post(tg_client, update), post(tg_client, update))
    assert statuses == [200, 200]
    await api.wait_for(lambda: len(api.sent(CHAT)) >= 1)
    await asyncio.sleep(0.3)
    assert await count(components, Message, Message.sender == "customer") == 1
    assert len(api.sent(CHAT)) == 1


async def test_an_edited_message_updates_the_stored_text(
    tg_client: Client, components: Components
) -> None:
    await post(tg_client, text_update(30, CHAT, "helo", message_id=77))
    edited = text_update(31, CHAT, "hello", message_id=77)
    edited["edited_message"] = edited.pop("message")
    edited["edited_message"]["edit_date"] = int(time.time())
    assert await post(tg_client, edited) == 200
    async with components.db.session() as session:
        texts = list(
            await session.scalars(select(Message.text).where(Message.sender == "customer"))
        )
    assert texts == ["hello"]


async def test_handoff_agent_reply_and_rating_with_an_inline_keyboard(
    tg_client: Client, components: Components, api: FakeBotApi, users: dict[str, int]
) -> None:
    await post(tg_client, text_update(40, CHAT, "I was charged twice, I want a refund"))
    csrf = await login(tg_client, "ada")
    headers = {"X-CSRF-Token": csrf}
    ticket = (await (await tg_client.get("/api/console/tickets?view=mine")).json())["tickets"][0]
    assert ticket["customer"]["display_name"] == "Kim Lee"
    await tg_client.post(
        f"/api/console/tickets/{ticket['id']}/messages", json={"text": "On it!"}, headers=headers
    )
    await api.wait_for(lambda: any(m["text"] == "On it!" for m in api.sent(CHAT)))
    await tg_client.post(f"/api/console/tickets/{ticket['id']}/resolve", headers=headers)
    await api.wait_for(lambda: "reply_markup" in api.sent(CHAT)[-1])
    keyboard = api.sent(CHAT)[-1]["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in keyboard] == [f"csat:{n}" for n in range(1, 6)]
    assert await post(tg_client, callback_update(41, "cb1", "csat:4")) == 200
    async with components.db.session() as session:
        assert list(await session.scalars(select(CsatResponse.rating))) == [4]
    assert any(m == "answerCallbackQuery" for m, _ in api.calls)
    await api.wait_for(lambda: api.sent(CHAT)[-1]["text"] == "Thank you for your feedback!")


async def test_retry_after_is_waited_and_the_message_sent_once(
    tg_client: Client, api: FakeBotApi
) -> None:
    api.overrides["sendMessage"] = [
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
    ]
    started = time.monotonic()
    await post(tg_client, text_update(50, CHAT, "hello"))
    await api.wait_for(lambda: len(api.sent(CHAT)) == 2)
    assert time.monotonic() - started >= 1.0
    await asyncio.sleep(0.3)
    assert len(api.sent(CHAT)) == 2  # the refused attempt and one delivery, no more


async def test_a_blocked_bot_marks_the_customer_unreachable(
    tg_client: Client, components: Components, api: FakeBotApi
) -> None:
    api.overrides["sendMessage"] = [
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    ]
    await post(tg_client, text_update(60, CHAT, "hello"))
    await api.wait_for(lambda: len(api.sent(CHAT)) == 1)
    for _ in range(50):
        if await count(components, Event, Event.type == "customer_unreachable"):
            break
        await asyncio.sleep(0.05)
    assert await count(components, Event, Event.type == "customer_unreachable") == 1


async def test_polling_mode_handles_updates(components: Components, api: FakeBotApi) -> None:
    channel = TelegramChannel(components.engine, components.hub, TOKEN, None, api.url)
    api.updates = [text_update(70, CHAT, "hi")]
    await channel.start(polling=True)
    try:
        await api.wait_for(lambda: len(api.sent(CHAT)) == 1)
    finally:
        await channel.stop()
    assert api.sent(CHAT)[0]["text"] == components.settings.dialogue.responses["greet"]
    assert ("deleteWebhook", {}) in [(m, {}) for m, _ in api.calls]


def test_telegram_needs_its_secrets(components: Components) -> None:
    enabled = components.settings.channels.model_copy(
        update={
            "telegram": components.settings.channels.telegram.model_copy(update={"enabled": True})
        }
    )
    settings = components.settings.model_copy(update={"channels": enabled})
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        telegram_channel(settings, components.engine, {})
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        telegram_channel(settings, components.engine, {"TELEGRAM_BOT_TOKEN": TOKEN})
    assert telegram_channel(
        settings, components.engine, {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "x"}
    )


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x07" * 3000
MB = 1024 * 1024


async def customer_messages(components: Components) -> list[Message]:
    async with components.db.session() as session:
        query = select(Message).where(Message.sender == "customer").order_by(Message.id)
        return list(await session.scalars(query))


async def test_a_photo_is_fetched_in_its_largest_size_and_kept_with_its_caption(
    tg_client: Client, components: Components, api: FakeBotApi, users: dict[str, int]
) -> None:
    small = api.add_file("p-small", JPEG[:200], "photos/file_1.jpg")
    large = api.add_file("p-large", JPEG, "photos/file_2.jpg")
    sizes = [{**small, "width": 90, "height": 60}, {**large, "width": 1280, "height": 853}]
    caption = "my parcel arrived like this"
    assert await post(tg_client, file_update(30, CHAT, caption, photo=sizes)) == 200

    [message] = await customer_messages(components)
    assert message.text == caption
    assert message.intent is not None  # the caption is understood like any text
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "photo.jpg",
        "image/jpeg",
        len(JPEG),
    )
    assert [p["file_id"] for m, p in api.calls if m == "getFile"] == ["p-large"]
    assert api.downloads == ["photos/file_2.jpg"]
    await login(tg_client, "sam")
    served = await tg_client.get(f"/attachments/{attachment.id}")
    assert served.status == 200
    assert await served.read() == JPEG


async def test_a_document_without_caption_is_kept_and_acknowledged(
    tg_client: Client, components: Components, api: FakeBotApi
) -> None:
    pdf = b"%PDF-1.4\n" + b"\x01" * 500
    document = {
        **api.add_file("d-1", pdf, "documents/file_3.pdf"),
        "file_name": "manual.pdf",
        "mime_type": "application/pdf",
    }
    assert await post(tg_client, file_update(31, CHAT, document=document)) == 200
    [message] = await customer_messages(components)
    assert (message.text, message.intent) == ("manual.pdf", None)
    assert [a.content_type for a in message.attachments] == ["application/pdf"]
    await api.wait_for(lambda: len(api.sent(CHAT)) == 1)
    assert "got your file" in api.sent(CHAT)[0]["text"]


async def test_files_over_the_limit_or_of_other_types_are_noted_and_the_customer_told(
    tg_client: Client, components: Components, api: FakeBotApi
) -> None:
    big = {
        "file_id": "d-big",
        "file_unique_id": "u-big",
        "file_size": 11 * MB,
        "file_name": "scan.pdf",
        "mime_type": "application/pdf",
    }
    word = {
        **api.add_file("d-2", b"PK\x03\x04" + b"\x00" * 300, "documents/file_4.docx"),
        "file_name": "notes.docx",
        "mime_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }
    voice = {"file_id": "v-1", "file_unique_id": "u-v1", "duration": 3}
    assert await post(tg_client, file_update(40, CHAT, document=big)) == 200
    assert await post(tg_client, file_update(41, CHAT, "see attached", document=word)) == 200
    assert await post(tg_client, file_update(42, CHAT, voice=voice)) == 200

    texts = [m.text for m in await customer_messages(components)]
    assert texts[0] == (
        "(scan.pdf was not accepted: the file is too large: it is 11 MB; the limit is 10 MB)"
    )
    assert texts[1].startswith("see attached\n(notes.docx was not accepted: ")
    assert texts[2].startswith("(the voice message was not accepted: only pictures")
    assert [p["file_id"] for m, p in api.calls if m == "getFile"] == ["d-2"]  # big: never fetched
    assert await count(components, Attachment) == 0
    await api.wait_for(lambda: len(api.sent(CHAT)) >= 3)
    told = [p["text"] for p in api.sent(CHAT)]
    assert "Sorry, I could not take scan.pdf: the file is too large" in told[0]
    assert "the limit is 10 MB" in told[0]
    assert any("notes.docx" in t and "application/pdf" in t for t in told)
    assert any("the voice message" in t for t in told)
