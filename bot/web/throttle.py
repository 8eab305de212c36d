"""Lock-out after repeated failed log-ins, per username and per client address: in one process,
or shared by every worker through Redis (failing open, with a log line, when Redis is down)."""

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
MAX_FAILURES = 5
WINDOW_S = 15 * 60
LOCKOUT_S = 5 * 60

# KEYS: one sorted set of failure times per key; ARGV: max failures, window and lock-out (ms).
# Returns the longest wait in milliseconds, or -1 when every key may try now.
_RETRY_AFTER = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local max_failures, window, lockout = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local longest = -1
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - window))
  if redis.call('ZCARD', key) >= max_failures then
    local latest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    local wait = tonumber(latest[2]) + lockout - now
    if wait > 0 and wait > longest then longest = wait end
  end
end
return longest
"""
# KEYS: the keys that failed; ARGV: window (ms), a unique member.
_FAILED = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local window = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - window))
  redis.call('PEXPIRE', key, window)
end
return 0
"""


class LoginThrottle(ABC):
    """A key with MAX_FAILURES failures inside WINDOW_S is locked until LOCKOUT_S after its
    latest failure; a success forgets the key's failures."""

    @abstractmethod
    async def retry_after(self, *keys: str) -> int | None:
        """Seconds until these keys may try again, or None when they may try now."""

    @abstractmethod
    async def failed(self, *keys: str) -> None:
        """Count one failed log-in for each key."""

    @abstractmethod
    async def succeeded(self, *keys: str) -> None:
        """Forget the failures of each key."""


class MemoryLoginThrottle(LoginThrottle):
    """In this process only: the last failures per key."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    async def retry_after(self, *keys: str) -> int | None:
        now = self._clock()
        waits = [self._wait(key, now) for key in keys]
        longest = max((w for w in waits if w is not None), default=None)
        return math.ceil(longest) if longest is not None else None

    async def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            self._failures[key].append(now)
            self._forget_old(key, now)

    async def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _wait(self, key: str, now: float) -> float | None:
        self._forget_old(key, now)
        failures = self._failures.get(key)
        if not failures or len(failures) < MAX_FAILURES:
            return None
        wait = failures[-1] + LOCKOUT_S - now
        return wait if wait > 0 else None

    def _forget_old(self, key: str, now: float) -> None:
        failures = self._failures.get(key)
        while failures and failures[0] < now - WINDOW_S:
            failures.popleft()
        if failures is not None and not failures:
            del self._failures[key]


class RedisLoginThrottle(LoginThrottle):
    """Shared by every worker: failures on one count on all, on Redis's own clock."""

    PREFIX = "helpline:login:"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._retry_after = redis.register_script(_RETRY_AFTER)
        self._failed = redis.register_script(_FAILED)
        self._fail_open = FailOpen(log, "log-in lock-out")

    async def retry_after(self, *keys: str) -> int | None:
        args = [MAX_FAILURES, WINDOW_S * 1000, LOCKOUT_S * 1000]
        try:
            wait_ms = int(await self._retry_after(keys=self._keys(keys), args=args))
        except REDIS_DOWN as exc:
            self._fail_open.failed(exc)
            return None
        self._fail_open.recovered()
        return math.ceil(wait_ms / 1000) if wait_ms > 0 else None

    async def failed(self, *keys: str) -> None:
        try:
            await self._failed(keys=self._keys(keys), args=[WINDOW_S * 1000, uuid.uuid4().hex])
        except REDIS_DOWN as exc:
            self._fail_open.failed(exc)

    async def succeeded(self, *keys: str) -> None:
        try:
            await self._redis.delete(*self._keys(keys))
        except REDIS_DOWN as exc:
            self._fail_open.failed(exc)

    def _keys(self, keys: tuple[str, ...]) -> list[str]:
        return [self.PREFIX + key for key in keys]
