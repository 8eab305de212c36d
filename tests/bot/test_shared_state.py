"""What several workers share: the live hub, rate limits and the log-in lock-out, each with one
interface and two implementations (in-process and Redis), tested by one contract suite over both,
against a real redis-server; then Redis going away and coming back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.live import Hub, LocalHub
from bot.redis_client import connect
from bot.redis_hub import Backoff, RedisHub
from bot.web.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from bot.web.throttle import (
    LOCKOUT_S,
    MAX_FAILURES,
    LoginThrottle,
    MemoryLoginThrottle,
    RedisLoginThrottle,
)
from tests.bot.conftest import until_listening
from tests.servers import RedisServer

FAST = Backoff(first=0.05, longest=0.2)


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> AsyncIterator[str]:
    """The session's Redis, emptied for this test."""
    client = connect(redis_server.url)
    await client.flushdb()
    await client.aclose()
    yield redis_server.url


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[Callable[[], Redis]]:
    """New clients of the test's Redis, as separate workers would have; closed afterwards."""
    made: list[Redis] = []

    def client() -> Redis:
        made.append(connect(redis_url))
        return made[-1]

    yield client
    for each in made:
        await each.aclose()


# -- rate limits: one contract over both implementations ---------------------------------------

LimiterFactory = Callable[[int, float], RateLimiter]


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest, clients: Callable[[], Redis]) -> LimiterFactory:
    if request.param == "memory":
        return MemoryRateLimiter
    return lambda limit, window: RedisRateLimiter(clients(), "test", limit, window)


async def test_a_key_gets_its_limit_then_an_exact_wait(limiter: LimiterFactory) -> None:
    limits = limiter(3, 30)
    assert [await limits.hit("a") for _ in range(3)] == [None, None, None]
    assert await limits.hit("a") == 30
    assert await limits.hit("b") is None  # other keys are not affected


async def test_the_window_slides(limiter: LimiterFactory) -> None:
    limits = limiter(2, 1.0)
    assert await limits.hit("a") is None
    await asyncio.sleep(0.5)
    assert await limits.hit("a") is None
    assert await limits.hit("a") == 1  # refused hits are not counted
    await asyncio.sleep(0.6)  # the first hit has left the window, the second has not
    assert await limits.hit("a") is None
    assert await limits.hit("a") is not None


async def test_redis_limits_are_shared_by_workers(clients: Callable[[], Redis]) -> None:
    worker_a = RedisRateLimiter(clients(), "messages", 4, 60)
    worker_b = RedisRateLimiter(clients(), "messages", 4, 60)
    results = [await (worker_a if n % 2 else worker_b).hit("rest:alice") for n in range(5)]
    assert results == [None, None, None, None, 60]
    assert await worker_a.hit("rest:bob") is None
    other_limit = RedisRateLimiter(clients(), "new_conversations", 4, 60)
    assert await other_limit.hit("rest:alice") is None  # names keep limits apart


# -- log-in lock-out -----------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def throttle(request: pytest.FixtureRequest, clients: Callable[[], Redis]) -> LoginThrottle:
    return MemoryLoginThrottle() if request.param == "memory" else RedisLoginThrottle(clients())


async def test_failures_lock_every_key_out_until_a_success(throttle: LoginThrottle) -> None:
    for _ in range(MAX_FAILURES - 1):
        await throttle.failed("user:ada", "ip:10.0.0.1")
    assert await throttle.retry_after("user:ada", "ip:10.0.0.1") is None
    await throttle.failed("user:ada", "ip:10.0.0.1")
    assert await throttle.retry_after("user:ada") == LOCKOUT_S
    assert await throttle.retry_after("user:grace", "ip:10.0.0.1") == LOCKOUT_S
    assert await throttle.retry_after("user:grace", "ip:10.0.0.2") is None
    await throttle.succeeded("user:ada", "ip:10.0.0.1")
    assert await throttle.retry_after("user:ada", "ip:10.0.0.1") is None


async def test_log_in_failures_on_one_worker_lock_out_on_another(
    clients: Callable[[], Redis],
) -> None:
    worker_a, worker_b = RedisLoginThrottle(clients()), RedisLoginThrottle(clients())
    for n in range(MAX_FAILURES):
        await (worker_a if n % 2 else worker_b).failed("user:ada")
    assert await worker_a.retry_after("user:ada") == LOCKOUT_S


# -- the live hub ------------------------------------------------------------------------------


@pytest.fixture
async def hubs(clients: Callable[[], Redis]) -> AsyncIterator[Callable[[], Awaitable[Hub]]]:
    started: list[Hub] = []

    async def hub() -> Hub:
        started.append(RedisHub(clients(), FAST))
        await started[-1].start()
        return started[-1]

    yield hub
    for each in started:
        await each.close()


async def next_payload(queue: asyncio.Queue[Any]) -> Any:
    return await asyncio.wait_for(queue.get(), 5)


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_a_hub_delivers_to_the_subscribers_of_the_topic(
    backend: str, hubs: Callable[[], Awaitable[Hub]]
) -> None:
    hub = LocalHub() if backend == "memory" else await hubs()
    await until_listening(hub)
    async with hub.subscribe("conversation:1") as one, hub.subscribe("conversation:2") as two:
        hub.publish("conversation:1", {"kind": "status", "status": "with_agent"})
        assert await next_payload(one) == {"kind": "status", "status": "with_agent"}
        hub.publish("conversation:1", {"kind": "typing", "name": "Ada"})
        assert await next_payload(one) == {"kind": "typing", "name": "Ada"}  # in order
        assert two.empty()
    hub.publish("conversation:1", {"kind": "status"})  # no subscribers left: nobody to tell
    await asyncio.sleep(0.05)
    assert one.empty()


async def test_a_publish_on_one_worker_reaches_subscribers_on_every_worker(
    hubs: Callable[[], Awaitable[Hub]],
) -> None:
    worker_a, worker_b = await hubs(), await hubs()
    await until_listening(worker_a, worker_b)
    async with worker_a.subscribe("console") as on_a, worker_b.subscribe("console") as on_b:
        for n in range(3):
            worker_a.publish("console", {"kind": "ticket", "n": n})
        worker_b.publish("conversation:7", {"kind": "status"})  # nobody listens there
        assert [(await next_payload(on_b))["n"] for _ in range(3)] == [0, 1, 2]
        assert [(await next_payload(on_a))["n"] for _ in range(3)] == [0, 1, 2]
        await asyncio.sleep(0.1)
        assert on_a.empty() and on_b.empty()


# -- Redis going away and coming back -----------------------------------------------------------


@pytest.fixture
def own_redis() -> AsyncIterator[RedisServer]:
    """A Redis server of this test alone, to stop and start again."""
    server = RedisServer().start()
    try:
        yield server  # type: ignore[misc]  # a sync generator fixture
    finally:
        server.close()


async def test_live_updates_come_back_after_a_redis_restart(own_redis: RedisServer) -> None:
    publisher, listener = (
        RedisHub(connect(own_redis.url), FAST),
        RedisHub(connect(own_redis.url), FAST),
    )
    resumed = asyncio.Event()

    async def on_resubscribed() -> None:
        resumed.set()

    listener.on_resubscribed(on_resubscribed)
    await publisher.start()
    await listener.start()
    try:
        await until_listening(publisher, listener)
        async with listener.subscribe("console") as updates:
            publisher.publish("console", {"n": 1})
            assert await next_payload(updates) == {"n": 1}
            own_redis.stop()
            assert await listener.status() == "unavailable"
            publisher.publish("console", {"n": 2})  # waits for Redis, in order
            own_redis.start()
            await asyncio.wait_for(resumed.wait(), 10)  # clients are told to resume from the DB
            publisher.publish("console", {"n": 3})
            received = [await next_payload(updates)]
            while received[-1] != {"n": 3}:
                received.append(await next_payload(updates))
            # {"n": 2} arrives too unless its retry beat the listener's return; either way no
            # client loses it: told to resume, they read the database, where it is stored.
            assert received in ([{"n": 3}], [{"n": 2}, {"n": 3}])
            assert await listener.status() == "ok"
    finally:
        await publisher.close()
        await listener.close()


async def test_rate_limits_fail_open_with_a_log_line_while_redis_is_down(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = connect(own_redis.url)
    limits, throttle = RedisRateLimiter(client, "messages", 1, 60), RedisLoginThrottle(client)
    try:
        assert await limits.hit("a") is None
        assert await limits.hit("a") == 60
        own_redis.stop()
        with caplog.at_level(logging.WARNING):
            assert [await limits.hit("a") for _ in range(3)] == [None, None, None]
            await throttle.failed("user:ada")
            assert await throttle.retry_after("user:ada") is None
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len([w for w in warnings if w.startswith("rate limit messages")]) == 1
        assert any("allowing requests" in w for w in warnings)
        own_redis.start()  # an empty Redis: the window starts again
        assert await limits.hit("a") is None
        assert await limits.hit("a") == 60
    finally:
        await client.aclose()
