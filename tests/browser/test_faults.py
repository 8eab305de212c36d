"""Faults survived, each ending with an exact count of what was stored: PostgreSQL stops for
about 10 s during traffic (the REST channel answers 503, /health reports it, the widget keeps
the customer's message and sends it again), and a worker is killed mid-conversation (the
customer's messages reach another worker by retry or reconnect and are processed once)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import func, select

from storage import migrate
from storage.database import Database
from storage.models import Conversation, Message
from tests.browser.test_widget_and_console import customer_says
from tests.conftest import _fresh_postgres_url, prepared_server
from tests.servers import HelplineServer, PostgresServer

pytestmark = [pytest.mark.e2e]
WEBHOOK = "/webhooks/rest/webhook"
REFUND = "I was charged twice, I want a refund"
SHIPPING = "how long does shipping to Germany take?"


async def migrated(server: PostgresServer) -> str:
    url = await _fresh_postgres_url(server)
    await migrate.upgrade_async(url)
    return url


async def stored(url: str, text: str, sender: str = "customer") -> int:
    db = Database(url)
    try:
        async with db.session() as session:
            found = await session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.text == text, Message.sender == sender)
            )
    finally:
        await db.dispose()
    return int(found or 0)


async def bot_replies_in_conversation_of(url: str, external_id: str) -> int:
    db = Database(url)
    try:
        async with db.session() as session:
            conversation = await session.scalar(
                select(Message.conversation_id).where(Message.external_id == external_id)
            )
            found = await session.scalar(
                select(func.count())
                .select_from(Message)
                .join(Conversation)
                .where(Conversation.id == conversation, Message.sender == "bot")
            )
    finally:
        await db.dispose()
    return int(found or 0)


async def wait_healthy(http: aiohttp.ClientSession, url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"{url}/health") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{url} did not become healthy again")


@pytest.fixture
async def server_on_own_postgres(
    tmp_path: Path, demo_model_dir: Path, own_postgres: PostgresServer
) -> AsyncIterator[tuple[HelplineServer, str]]:
    url = await migrated(own_postgres)
    server = prepared_server(tmp_path, demo_model_dir, url)
    server.start()
    try:
        yield server, url
    finally:
        server.stop()


async def test_a_database_outage_answers_503_and_loses_nothing(
    server_on_own_postgres: tuple[HelplineServer, str],
    own_postgres: PostgresServer,
    browser: Browser,
) -> None:
    server, database_url = server_on_own_postgres
    customer = await (await browser.new_context()).new_page()
    await customer.goto(f"{server.url}/")
    await customer.get_by_test_id("widget-launcher").click()
    await customer_says(customer, SHIPPING)
    await expect(customer.get_by_test_id("widget-citation").first).to_be_visible()

    own_postgres.pause()
    outage_started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        body = {"sender": "rest-customer", "message": SHIPPING, "message_id": "rest-1"}
        async with http.post(f"{server.url}{WEBHOOK}", json=body) as refused:
            assert refused.status == 503
            assert int(refused.headers["Retry-After"]) > 0
            assert (await refused.json())["error"]["code"] == "unavailable"
        async with http.get(f"{server.url}/health") as health:
            assert health.status == 503
            assert (await health.json())["status"] == "unavailable"

        await customer_says(customer, REFUND)
        mine = customer.locator('[data-testid="widget-message"][data-sender="customer"]')
        await expect(mine.last).to_have_attribute("data-state", "pending")
        await asyncio.sleep(max(0.0, 10 - (time.monotonic() - outage_started)))
        own_postgres.resume()
        await wait_healthy(http, server.url)

        # the REST sender retries with the same message id; the widget resends by itself
        async with http.post(f"{server.url}{WEBHOOK}", json=body) as answered:
            assert answered.status == 200
            replies: list[dict[str, Any]] = await answered.json()
        assert replies
    bot = customer.locator('[data-testid="widget-message"][data-sender="bot"]')
    await expect(bot.last).to_contain_text("billing", timeout=30_000)
    await expect(mine.last).not_to_have_attribute("data-state", "pending")

    assert await stored(database_url, REFUND) == 1
    assert await stored(database_url, SHIPPING) == 2  # once from the widget, once from REST
    assert await bot_replies_in_conversation_of(database_url, "rest-1") == len(replies)


async def test_a_killed_workers_messages_are_processed_once_by_another(
    tmp_path: Path, demo_model_dir: Path, postgres: PostgresServer
) -> None:
    database_url = await migrated(postgres)
    a = prepared_server(tmp_path, demo_model_dir, database_url, label="a")
    b = HelplineServer(a.config, a.env, tmp_path / "b.log")
    a.start()
    b.start()
    try:
        async with aiohttp.ClientSession() as http:
            socket = await http.ws_connect(f"{a.url}/ws/widget", headers={"Origin": a.url})
            await socket.send_json({"type": "hello", "token": None})
            token = (await socket.receive_json())["token"]
            await socket.send_json({"type": "message", "text": REFUND, "client_id": "c-1"})
            body = {"sender": "rest-customer", "message": SHIPPING, "message_id": "rest-1"}
            in_flight = asyncio.ensure_future(http.post(f"{a.url}{WEBHOOK}", json=body))
            await asyncio.sleep(0.05)
            a.kill()  # mid-conversation: whatever it had not committed is gone
            with contextlib.suppress(aiohttp.ClientError):
                (await in_flight).release()
            await socket.close()

            async with http.post(f"{b.url}{WEBHOOK}", json=body) as retried:
                assert retried.status == 200
                replies = await retried.json()
            again = await http.ws_connect(f"{b.url}/ws/widget", headers={"Origin": b.url})
            await again.send_json({"type": "hello", "token": token})
            assert (await again.receive_json())["type"] == "welcome"
            await again.send_json({"type": "message", "text": REFUND, "client_id": "c-1"})
            frame = await asyncio.wait_for(again.receive_json(), 30)
            while frame["type"] != "ack":
                frame = await asyncio.wait_for(again.receive_json(), 30)
            assert frame["client_id"] == "c-1"
            await again.close()
    finally:
        b.stop()
        a.stop()  # already dead: nothing to do

    assert await stored(database_url, REFUND) == 1
    assert await stored(database_url, SHIPPING) == 1
    assert await bot_replies_in_conversation_of(database_url, "rest-1") == len(replies)
