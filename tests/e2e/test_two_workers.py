"""Two `helpline serve` workers sharing one real PostgreSQL database and one real Redis server,
as behind a load balancer: a customer on worker A is handed off, an agent on worker B takes the
ticket and they talk live both ways; Redis is then stopped and started again mid-conversation,
and nothing is lost. Both workers write JSON logs, checked at the end."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from storage.database import Database
from storage.models import Message
from tests.conftest import SERVER_PASSWORD, demo_config
from tests.servers import HelplineServer, RedisServer

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
REFUND = "I was charged twice, I want a refund"
DURING_OUTAGE = "Your refund is approved; it shows in 3 days."


class Workers:
    def __init__(self, a: HelplineServer, b: HelplineServer, redis: RedisServer, url: str) -> None:
        self.a, self.b, self.redis, self.database_url = a, b, redis, url


@pytest.fixture
def workers(tmp_path: Path, demo_model_dir: Path, postgres_url: str) -> Iterator[Workers]:
    redis = RedisServer().start()  # this test's own: it is stopped and started again
    path = demo_config(tmp_path / "config.yml", demo_model_dir)
    env = dict(
        os.environ,
        DATABASE_URL=postgres_url,
        REDIS_URL=redis.url,
        HELPLINE_SECRET="e2e-secret",  # the same on every worker: tokens and sessions travel
        HF_HUB_OFFLINE="1",
    )
    a, b = (
        HelplineServer(path, env, tmp_path / f"{name}.log", ["--log-format", "json"])
        for name in ("a", "b")
    )
    a.cli("users", "create", "ada", "--name", "Ada Lovelace", "--role", "agent",
          "--queue", "billing", "--password", SERVER_PASSWORD)  # fmt: skip
    try:
        a.start()
        b.start()
        yield Workers(a, b, redis, postgres_url)
    finally:
        a.stop()
        b.stop()
        redis.close()


async def frame(socket: aiohttp.ClientWebSocketResponse, kind: str, **match: Any) -> dict[str, Any]:
    """The next frame of `kind` whose fields match (`message__text` looks inside `message`)."""

    async def wait() -> dict[str, Any]:
        while True:
            received = await socket.receive_json()
            if received["type"] == kind and all(_get(received, k) == v for k, v in match.items()):
                return received

    return await asyncio.wait_for(wait(), 20)


def _get(data: Any, dotted: str) -> Any:
    for part in dotted.split("__"):
        data = data.get(part) if isinstance(data, dict) else None
    return data


async def closed(socket: aiohttp.ClientWebSocketResponse) -> None:
    """Wait until the server closes the socket (frames before that are skipped)."""

    async def wait() -> None:
        while (await socket.receive()).type not in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
        ):
            pass

    await asyncio.wait_for(wait(), 30)


async def redis_health(http: aiohttp.ClientSession, server: HelplineServer, want: str) -> None:
    async def wait() -> None:
        while True:
            async with http.get(f"{server.url}/health") as response:
                if (await response.json())["redis"] == want:
                    return
            await asyncio.sleep(0.2)

    await asyncio.wait_for(wait(), 30)


async def log_in(http: aiohttp.ClientSession, url: str) -> dict[str, str]:
    page = await (await http.get(f"{url}/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    form = {"username": "ada", "password": SERVER_PASSWORD, "csrf_token": token.group(1)}
    response = await http.post(f"{url}/login", data=form, allow_redirects=False)
    assert response.status == 303
    console = await (await http.get(f"{url}/console")).text()
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', console)
    assert meta is not None
    return {"X-CSRF-Token": meta.group(1)}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def hello(
    customer: aiohttp.ClientSession, server: HelplineServer, token: str | None
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    widget = await customer.ws_connect(server.url.replace("http", "ws") + "/ws/widget")
    await widget.send_json({"type": "hello", "token": token})
    return widget, await frame(widget, "welcome")


async def test_customer_on_one_worker_and_agent_on_the_other(
    workers: Workers, http: aiohttp.ClientSession
) -> None:
    a, b = workers.a, workers.b
    probe = await http.get(f"{a.url}/health", headers={"X-Request-ID": "probe-123"})
    assert probe.headers["X-Request-ID"] == "probe-123"
    fresh = await http.get(f"{a.url}/health")
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Request-ID"])
    async with aiohttp.ClientSession() as customer:
        # the customer, on worker A, asks for a refund: a ticket in billing
        widget, welcome = await hello(customer, a, None)
        await widget.send_json({"type": "message", "text": REFUND, "client_id": "c1"})
        await frame(widget, "message", message__sender="bot")

        # the agent, on worker B, takes it and replies; A's customer sees both live
        headers = await log_in(http, b.url)
        console = await http.ws_connect(b.url.replace("http", "ws") + "/ws/console")
        listed = await (await http.get(f"{b.url}/api/console/tickets?view=queue")).json()
        ticket_id = listed["tickets"][0]["id"]
        take = await http.post(f"{b.url}/api/console/tickets/{ticket_id}/take", headers=headers)
        assert take.status == 200
        await frame(widget, "status", status="with_agent")
        await console.send_json({"type": "typing", "ticket_id": ticket_id})
        typing = await frame(widget, "typing")
        assert typing["name"] == "Ada Lovelace"
        reply = "Hi, I'm Ada. Let me check that charge."
        await http.post(
            f"{b.url}/api/console/tickets/{ticket_id}/messages",
            json={"text": reply},
            headers=headers,
        )
        await frame(widget, "message", message__text=reply, message__sender="agent")

        # ... and the customer's answer on A reaches the console on B
        await widget.send_json(
            {"type": "message", "text": "It was order AF-123456", "client_id": "c2"}
        )
        await frame(console, "message", ticket_id=ticket_id, message__text="It was order AF-123456")

        # Redis goes away: the agent's reply is stored; when Redis is back, the workers close
        # their sockets, the customer reconnects and finds it, and live updates resume
        workers.redis.stop()
        await redis_health(http, a, "unavailable")
        sent = await http.post(
            f"{b.url}/api/console/tickets/{ticket_id}/messages",
            json={"text": DURING_OUTAGE},
            headers=headers,
        )
        assert sent.status == 201
        workers.redis.start()
        await redis_health(http, a, "ok")
        await redis_health(http, b, "ok")
        await closed(widget)
        await closed(console)
        widget, resumed = await hello(customer, a, welcome["token"])
        assert DURING_OUTAGE in [m["text"] for m in resumed["messages"]]
        console = await http.ws_connect(b.url.replace("http", "ws") + "/ws/console")
        await http.post(
            f"{b.url}/api/console/tickets/{ticket_id}/messages",
            json={"text": "Anything else?"},
            headers=headers,
        )
        await frame(widget, "message", message__text="Anything else?")
        await widget.send_json({"type": "message", "text": "No, thanks", "client_id": "c3"})
        await frame(console, "message", ticket_id=ticket_id, message__text="No, thanks")
        await widget.close()
        await console.close()

    # the database holds exactly the conversation, once
    database = Database(workers.database_url)
    try:
        async with database.session() as session:
            rows = (
                await session.execute(select(Message.sender, Message.text).order_by(Message.id))
            ).all()
    finally:
        await database.dispose()
    handoff = rows[1]
    assert [tuple(row) for row in rows] == [
        ("customer", REFUND),
        ("bot", handoff.text),
        ("system", "Ada Lovelace joined the conversation."),
        ("agent", reply),
        ("customer", "It was order AF-123456"),
        ("agent", DURING_OUTAGE),
        ("agent", "Anything else?"),
        ("customer", "No, thanks"),
    ]
    assert handoff.sender == "bot" and "billing" in handoff.text

    # both workers logged JSON only: ids, never what people wrote or their names
    for worker in (a, b):
        lines = [json.loads(line) for line in worker.log.read_text().splitlines() if line.strip()]
        assert lines and all(
            {"time", "level", "logger", "message", "request_id", "conversation_id"} <= set(line)
            for line in lines
        )
        text = worker.log.read_text()
        for private in (REFUND, DURING_OUTAGE, "AF-123456", "Ada Lovelace", "No, thanks"):
            assert private not in text
    a_lines = [json.loads(line) for line in a.log.read_text().splitlines() if line.strip()]
    conversation_id = resumed["conversation_id"]
    assert any(line["conversation_id"] == conversation_id for line in a_lines)
    assert any(line["request_id"] == "probe-123" for line in a_lines)
    assert any("Redis" in line["message"] and line["level"] == "WARNING" for line in a_lines)
