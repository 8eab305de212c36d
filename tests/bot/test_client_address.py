"""The per-address limits count the client's address: the peer's, or behind a trusted proxy the
last address in X-Forwarded-For that is not a trusted proxy; a client's own header counts for
nothing."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Awaitable, Callable

import pytest

from bot.components import Components
from bot.web.app import create_app
from bot.web.client_address import Network, resolve
from bot.web.ratelimit import MemoryRateLimiter
from tests.bot.conftest import Client

PROXIES: list[Network] = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("198.51.100.7", [], "198.51.100.7"),  # no proxy
        ("198.51.100.7", ["203.0.113.5"], "198.51.100.7"),  # an untrusted peer's header
        ("10.0.0.1", ["203.0.113.5"], "203.0.113.5"),  # one trusted proxy
        ("10.0.0.1", ["1.1.1.1, 203.0.113.5, 10.0.0.2"], "203.0.113.5"),  # two; 1.1.1.1 forged
        ("10.0.0.1", ["1.1.1.1", "203.0.113.5"], "203.0.113.5"),  # the header given twice
        ("10.0.0.1", ["203.0.113.5, not-an-address"], "10.0.0.1"),  # garbage ends the walk
        ("10.0.0.1", ["junk, 10.0.0.3"], "10.0.0.3"),  # the last good hop
        ("10.0.0.1", [], "10.0.0.1"),  # a proxy that adds nothing
        ("::1", ["2001:db8::5"], "2001:db8::5"),
        (None, ["203.0.113.5"], "unknown"),
    ],
)
def test_the_client_address(peer: str | None, forwarded: list[str], client: str) -> None:
    assert resolve(peer, forwarded, PROXIES) == client


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert resolve("10.0.0.1", ["203.0.113.5"], []) == "10.0.0.1"


async def first_message(client: Client, forwarded_for: str) -> str:
    """A new visitor's first message from `forwarded_for`: "ack" or the error's code."""
    socket = await client.ws_connect("/ws/widget", headers={"X-Forwarded-For": forwarded_for})
    await socket.send_json({"type": "hello", "token": None})
    assert (await socket.receive_json())["type"] == "welcome"
    await socket.send_json({"type": "message", "text": "hello", "client_id": "c1"})
    while True:
        frame = await socket.receive_json()
        if frame["type"] in ("ack", "error"):
            await socket.close()
            return str(frame.get("code", "ack"))


@pytest.mark.parametrize("trusted", [True, False])
async def test_new_conversations_are_limited_per_client_behind_a_proxy(
    aiohttp_client: Callable[..., Awaitable[Client]], components: Components, trusted: bool
) -> None:
    settings = components.settings
    proxies = (ipaddress.ip_network("127.0.0.1/32"),) if trusted else ()
    channels = settings.channels.model_copy(update={"trusted_proxies": proxies})
    components.settings = settings.model_copy(update={"channels": channels})
    one = MemoryRateLimiter(limit=1, window_s=600)
    components.limits = dataclasses.replace(components.limits, new_conversations=one)
    client = await aiohttp_client(create_app(components))
    assert await first_message(client, "203.0.113.5") == "ack"
    assert await first_message(client, "203.0.113.5") == "rate_limited"
    # Another customer behind the same balancer: counted apart only when it is trusted.
    assert await first_message(client, "198.51.100.7") == ("ack" if trusted else "rate_limited")
