"""Application-level fixtures: a test client on the real app, users, and logging in."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from actions.users import create_user
from bot.components import Components
from bot.live import Hub
from bot.web.app import create_app

PASSWORD = "correct horse battery"
_HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

Client = TestClient  # type: ignore[type-arg]  # aiohttp's TestClient generics are not needed here


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Awaitable[Client]], components: Components
) -> Client:
    return await aiohttp_client(create_app(components))


@pytest.fixture
async def users(components: Components) -> dict[str, int]:
    """An agent in billing, an agent in orders, and a supervisor; all with PASSWORD."""
    specs = [
        ("ada", "agent", ["billing", "general"]),
        ("grace", "agent", ["orders"]),
        ("sam", "supervisor", ["billing", "orders", "tech", "general"]),
    ]
    ids = {}
    async with components.db.session() as session, session.begin():
        for username, role, queues in specs:
            user = await create_user(session, username, username.title(), role, PASSWORD, queues)
            ids[username] = user.id
    return ids


async def submit_login(client: Client, username: str, password: str) -> ClientResponse:
    """Fill in and send the log-in form as a browser would; the answer is not followed."""
    page = await client.get("/login")
    token = _HIDDEN_CSRF.search(await page.text())
    assert token is not None
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        allow_redirects=False,
    )


async def login(client: Client, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token for API calls."""
    response = await submit_login(client, username, password)
    assert response.status == 303, await response.text()
    console = await client.get("/console")
    meta = _META_CSRF.search(await console.text())
    assert meta is not None
    return meta.group(1)


async def until_listening(*hubs: Hub) -> None:
    async def wait() -> None:
        # polls: whether a hub listens depends on a separate server, not on an event of ours
        while [await hub.status() for hub in hubs] != ["ok"] * len(hubs):  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), 10)
