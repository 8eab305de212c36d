"""Sliding-window rate limits per key (a sender, a visitor, a client address): in one process,
or shared by every worker through Redis. Answering 429 with Retry-After is the caller's part.

With Redis the window is a sorted set of hit times per key, checked and updated by one Lua script
on Redis's own clock, so workers agree and Retry-After is exact. When Redis is unreachable the
limit fails open (every hit is allowed) and says so in the log: a rate limit guards against
floods, and refusing every customer while Redis is down would be worse than a flood.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict, deque
from collections.abc import Callable

from redis.asyncio import Redis

from bot.redis_client import REDIS_DOWN, FailOpen

log = logging.getLogger(__name__)

# KEYS[1]: the window; ARGV: limit, window (ms), a unique member. Returns -1 when the hit is
# allowed (and counted), else the milliseconds until the oldest hit leaves the window.
_SLIDING_WINDOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return -1
"""


class RateLimiter(ABC):
    """At most `limit` events per key in any `window_s` seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s

    @abstractmethod
    async def hit(self, key: str) -> int | None:
        """Count one event for `key`; None when allowed, else whole seconds to wait (and the
        refused event is not counted)."""


class MemoryRateLimiter(RateLimiter):
    """In this process only: right for one worker."""

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(limit, window_s)
        self._clock = clock
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    async def hit(self, key: str) -> int | None:
        now = self._clock()
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window_s - now))
        hits.append(now)
        return None


class RedisRateLimiter(RateLimiter):
    """Shared by every worker using the same Redis; `name` keeps limits apart."""

    def __init__(self, redis: Redis, name: str, limit: int, window_s: float) -> None:
        super().__init__(limit, window_s)
        self._prefix = f"helpline:rate:{name}:"
        self._script = redis.register_script(_SLIDING_WINDOW)
        self._fail_open = FailOpen(log, f"rate limit {name}")

    async def hit(self, key: str) -> int | None:
        window_ms = math.ceil(self.window_s * 1000)
        try:
            wait_ms = await self._script(
                keys=[self._prefix + key], args=[self.limit, window_ms, uuid.uuid4().hex]
            )
        except REDIS_DOWN as exc:
            self._fail_open.failed(exc)
            return None
        self._fail_open.recovered()
        return None if int(wait_ms) < 0 else max(1, math.ceil(int(wait_ms) / 1000))
