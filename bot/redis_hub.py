"""Live updates across several workers through Redis pub/sub.

Every worker publishes each payload to one Redis channel and listens to it; what arrives is
delivered to that worker's own subscribers (its open WebSockets), so a worker also hears its own
publishes through Redis and every worker sees the same order. When Redis goes away publishes wait
in order and are retried, and the listener reconnects, both with exponential backoff. Once the
listener is back the hub tells its `on_resubscribed` callbacks: updates may have been missed
meanwhile, so clients should resume from the database, where every message is stored anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.live import Hub, Payload
from bot.redis_client import REDIS_DOWN

log = logging.getLogger(__name__)
CHANNEL = "helpline:live"
MAX_PENDING = 10_000  # publishes kept while Redis is away; beyond that the oldest are dropped


@dataclass(frozen=True)
class Backoff:
    """Waits of `first` seconds, doubling up to `longest`."""

    first: float = 0.1
    longest: float = 5.0

    def after(self, wait: float) -> float:
        return min(wait * 2, self.longest)


class RedisHub(Hub):
    """The hub for several workers; `start()` within the running event loop before use."""

    def __init__(self, redis: Redis, backoff: Backoff = Backoff()) -> None:
        super().__init__()
        self._redis = redis
        self._backoff = backoff
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = False

    def publish(self, topic: str, payload: Payload) -> None:
        if self._outbox.qsize() >= MAX_PENDING:
            self._outbox.get_nowait()
            log.warning(
                "live updates: %d publishes waiting for Redis; dropped the oldest", MAX_PENDING
            )
        self._outbox.put_nowait(json.dumps({"topic": topic, "payload": payload}))

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._send_forever(), name="redis-hub-send"),
            asyncio.create_task(self._listen_forever(), name="redis-hub-listen"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._redis.aclose()

    async def status(self) -> str:
        try:
            await asyncio.wait_for(self._redis.ping(), 2)
        except REDIS_DOWN:
            return "unavailable"
        return "ok" if self.listening else "reconnecting"

    async def _send_forever(self) -> None:
        while True:
            item = await self._outbox.get()
            wait = self._backoff.first
            while not await self._send(item, wait):
                await asyncio.sleep(wait)
                wait = self._backoff.after(wait)

    async def _send(self, item: str, wait: float) -> bool:
        try:
            await self._redis.publish(CHANNEL, item)
        except REDIS_DOWN as exc:
            log.warning("live updates: cannot publish to Redis (%s); retrying in %.1f s", exc, wait)
            return False
        return True

    async def _listen_forever(self) -> None:
        wait, missed = self._backoff.first, False
        while True:
            try:
                await self._listen(missed)
            except REDIS_DOWN as exc:
                if self.listening:  # it was up: start the backoff again
                    wait = self._backoff.first
                self.listening, missed = False, True
                log.warning(
                    "live updates: Redis connection lost (%s); reconnecting in %.1f s", exc, wait
                )
                await asyncio.sleep(wait)
                wait = self._backoff.after(wait)

    async def _listen(self, missed: bool) -> None:
        async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(CHANNEL)
            self.listening = True
            if missed:
                log.info("live updates: listening to Redis again; clients resume from the database")
                await self._notify_resubscribed()
            async for message in pubsub.listen():
                self._receive(message["data"])
        raise RedisConnectionError("the subscription ended")  # reconnect, after the backoff

    def _receive(self, raw: bytes) -> None:
        try:
            item = json.loads(raw)
            topic, payload = item["topic"], item["payload"]
        except (ValueError, KeyError, TypeError):
            log.warning("live updates: ignored a malformed message on %s", CHANNEL)
            return
        self.deliver(topic, payload)
