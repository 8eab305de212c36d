"""A flood of messages gets 429 with Retry-After (REST) or a rate_limited error (widget); other
senders are not affected and nothing of the refused messages is stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from bot.components import Components
from bot.web import keys
from bot.web.app import create_app
from bot.web.ratelimit import MemoryRateLimiter
from storage.models import Message
from tests.bot.conftest import Client

WEBHOOK = "/webhooks/rest/webhook"


async def test_rest_sender_is_limited_and_recovers(
    aiohttp_client: Callable[..., Awaitable[Client]], components: Components
) -> None:
    now = [0.0]
    app = create_app(components)
    app[keys.MESSAGE_LIMIT] = MemoryRateLimiter(limit=3, window_s=10, clock=lambda: now[0])
    client = await aiohttp_client(app)
    for n in range(3):
        assert (
            await client.post(WEBHOOK, json={"sender": "a", "message": f"hi {n}"})
        ).status == 200
    refused = await client.post(WEBHOOK, json={"sender": "a", "message": "hi again"})
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "10"
    assert (await refused.json())["error"]["code"] == "rate_limited"
    assert (await client.post(WEBHOOK, json={"sender": "b", "message": "hello"})).status == 200
    now[0] = 10.5
    assert (await client.post(WEBHOOK, json={"sender": "a", "message": "hi later"})).status == 200
    async with components.db.session() as session:
        texts = set(await session.scalars(select(Message.text).where(Message.sender == "customer")))
    assert "hi again" not in texts and "hi later" in texts


async def test_widget_flood_gets_an_error_frame(client: Client, components: Components) -> None:
    socket = await client.ws_connect("/ws/widget")
    await socket.send_json({"type": "hello", "token": None})
    assert (await socket.receive_json())["type"] == "welcome"
    codes = []
    limit = components.settings.channels.message_rate.limit
    for n in range(limit + 1):
        await socket.send_json({"type": "message", "text": f"hello {n}", "client_id": f"c{n}"})
        while True:
            frame = await socket.receive_json()
            if frame["type"] in ("ack", "error"):
                codes.append(frame.get("code", "ack"))
                break
    assert codes[:limit] == ["ack"] * limit and codes[limit] == "rate_limited"
    async with components.db.session() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Message).where(Message.sender == "customer")
        )
    assert stored == limit
    await socket.close()
