"""Two application instances sharing one database and one real Redis, as two workers would:
their rate limits are shared, /health reports Redis, and new widget conversations are limited
per client address. Then one conversation's messages arriving on two workers at once, on a real
PostgreSQL, are handled one after the other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse
from sqlalchemy import func, select, text

from actions.users import sync_queues
from bot.components import Components, wire
from bot.engine import InboundMessage
from bot.ordering import conversation_key
from bot.redis_client import connect
from bot.settings import MessageRateSettings, NewConversationRateSettings, Settings
from bot.web.app import create_app
from knowledge_base.index import KnowledgeBaseIndex
from nlu.model import NLUModel
from storage.database import Database
from storage.models import Conversation, Message
from tests.bot.conftest import Client, until_listening
from tests.conftest import settings_for
from tests.servers import RedisServer

WEBHOOK = "/webhooks/rest/webhook"
Build = Callable[..., Awaitable[Components]]


@pytest.fixture
async def build(
    base_settings: Settings,
    demo_model_dir: Path,
    demo_nlu: NLUModel,
    served_kb: KnowledgeBaseIndex,
) -> AsyncIterator[Build]:
    """Components on a given database (queues synced) with settings changed as asked."""
    built: list[Components] = []

    async def make(database_url: str, **changes: Any) -> Components:
        settings = settings_for(base_settings, database_url, demo_model_dir)
        channels = settings.channels
        if "message_rate" in changes:
            channels = channels.model_copy(update={"message_rate": changes.pop("message_rate")})
        if "new_conversations" in changes:
            widget = channels.widget.model_copy(
                update={"new_conversations": changes.pop("new_conversations")}
            )
            channels = channels.model_copy(update={"widget": widget})
        settings = settings.model_copy(update={"channels": channels, **changes})
        components = wire(settings, demo_nlu, served_kb, b"test-secret")
        async with components.db.session() as session, session.begin():
            await sync_queues(session, settings.queue_specs())
        built.append(components)
        return components

    yield make
    for components in built:
        await components.db.dispose()


async def _emptied(redis_server: RedisServer) -> str:
    client = connect(redis_server.url)
    await client.flushdb()
    await client.aclose()
    return redis_server.url


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> str:
    return await _emptied(redis_server)


async def two_workers(
    aiohttp_client: Callable[..., Awaitable[Client]],
    build: Build,
    database_url: str,
    **changes: Any,
) -> tuple[Client, Client]:
    first = await build(database_url, **changes)
    second = await build(database_url, **changes)
    workers = await aiohttp_client(create_app(first)), await aiohttp_client(create_app(second))
    # As a load balancer would, traffic once live updates are up: on a busy machine a first
    # connection to Redis can time out, and the reconnect closes the browsers' sockets.
    await until_listening(first.hub, second.hub)
    return workers


async def test_a_sender_limited_on_one_worker_is_limited_on_the_other(
    aiohttp_client: Callable[..., Awaitable[Client]],
    build: Build,
    sqlite_url: str,
    redis_url: str,
) -> None:
    rate = MessageRateSettings(limit=3, window_seconds=60)
    a, b = await two_workers(
        aiohttp_client, build, sqlite_url, redis_url=redis_url, message_rate=rate
    )
    statuses, started = [], time.monotonic()
    for n in range(4):
        worker = a if n % 2 else b
        response = await worker.post(WEBHOOK, json={"sender": "alice", "message": f"hi {n}"})
        statuses.append(response.status)
    assert statuses == [200, 200, 200, 429]
    # exact: until the first hit leaves the window, however long the requests took
    elapsed = time.monotonic() - started
    assert 60 - elapsed <= int(response.headers["Retry-After"]) <= 60
    assert (await a.post(WEBHOOK, json={"sender": "bob", "message": "hello"})).status == 200


async def test_health_reports_redis(
    aiohttp_client: Callable[..., Awaitable[Client]], build: Build, sqlite_url: str
) -> None:
    redis = RedisServer().start()
    try:
        worker = await aiohttp_client(create_app(await build(sqlite_url, redis_url=redis.url)))
        alone = await aiohttp_client(create_app(await build(sqlite_url)))
        assert (await (await alone.get("/health")).json())["redis"] == "off"
        healthy = await (await worker.get("/health")).json()
        assert (healthy["status"], healthy["redis"]) in (("ok", "ok"), ("ok", "reconnecting"))
        redis.stop()
        down = await worker.get("/health")
        assert down.status == 200  # the worker still serves: limits fail open, clients resume
        assert (await down.json())["redis"] == "unavailable"
    finally:
        redis.close()


async def _start_conversation(client: Client, n: int) -> dict[str, Any]:
    socket = await client.ws_connect("/ws/widget")
    await socket.send_json({"type": "hello", "token": None})
    await _frame(socket, "welcome")
    await socket.send_json({"type": "message", "text": f"hello, number {n}", "client_id": "c1"})
    answer = await _frame(socket, "ack", "error")
    if answer["type"] == "ack":  # an open conversation: more messages are not limited by this
        await socket.send_json({"type": "message", "text": "and again", "client_id": "c2"})
        assert (await _frame(socket, "ack", "error"))["type"] == "ack"
    await socket.close()
    return answer


async def _frame(socket: ClientWebSocketResponse, *kinds: str) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            frame = await socket.receive_json()
            if frame["type"] in kinds:
                return frame

    return await asyncio.wait_for(wait(), 10)


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "redis"])
async def test_new_widget_conversations_are_limited_per_address(
    aiohttp_client: Callable[..., Awaitable[Client]],
    build: Build,
    sqlite_url: str,
    redis_server: RedisServer,
    shared: bool,
) -> None:
    limit = NewConversationRateSettings(limit=2, window_seconds=600)
    changes: dict[str, Any] = {"new_conversations": limit}
    if shared:  # two workers: the limit counts conversations started on either
        changes["redis_url"] = await _emptied(redis_server)
        a, b = await two_workers(aiohttp_client, build, sqlite_url, **changes)
    else:
        a = b = await aiohttp_client(create_app(await build(sqlite_url, **changes)))
    answers = [await _start_conversation(worker, n) for n, worker in enumerate([a, b, a])]
    assert [answer["type"] for answer in answers] == ["ack", "ack", "error"]
    assert answers[2]["code"] == "rate_limited"
    assert 599 <= answers[2]["retry_after"] <= 600
    database = Database(sqlite_url)
    try:
        async with database.session() as session:
            conversations = await session.scalar(select(func.count()).select_from(Conversation))
            texts = list(
                await session.scalars(select(Message.text).where(Message.sender == "customer"))
            )
    finally:
        await database.dispose()
    assert conversations == 2 and "hello, number 2" not in texts


@pytest.mark.postgres
async def test_one_conversation_on_two_workers_is_handled_one_message_at_a_time(
    build: Build, postgres_url: str
) -> None:
    url = postgres_url
    a, b = await build(url), await build(url)
    questions = ["hello", "how long does shipping to Germany take?"] * 4
    turns = await asyncio.gather(
        *(
            (a if n % 2 else b).engine.handle(InboundMessage("rest", "carol", q, f"m{n}"))
            for n, q in enumerate(questions)
        )
    )
    assert len({turn.conversation_id for turn in turns}) == 1
    async with a.db.session() as session:
        senders = list(
            await session.scalars(
                select(Message.sender)
                .where(Message.conversation_id == turns[0].conversation_id)
                .order_by(Message.id)
            )
        )
    # each turn stored its message and its reply before the next turn began
    assert senders == ["customer", "bot"] * len(questions)


@pytest.mark.postgres
async def test_a_turn_waits_while_another_worker_holds_the_conversation(
    build: Build, postgres_url: str
) -> None:
    url = postgres_url
    worker = await build(url)
    async with worker.db.session() as other, other.begin():
        lock = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
        await other.execute(lock, {"key": conversation_key("rest", "dave")})
        turn = asyncio.create_task(worker.engine.handle(InboundMessage("rest", "dave", "hello")))
        await asyncio.sleep(1.0)
        assert not turn.done()
    assert (await asyncio.wait_for(turn, 30)).message.text == "hello"
