"""The Redis client the workers share, and how its failures look."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

# What a lost or refused connection looks like from redis-py: its own errors, or the socket's.
REDIS_DOWN = (RedisError, OSError, TimeoutError)


def connect(url: str) -> Redis:
    """A client (connections are made when first used) that notices a dead server quickly and
    never retries on its own: a silent reconnect would hide a gap in live updates, and callers
    have their own backoff (live updates) or fail open (rate limits)."""
    return Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 0),
    )


class FailOpen:
    """Logs once when a Redis-backed check starts failing open, and once when it recovers, so
    an outage is visible without a log line per request."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log, self._what, self.failing = log, what, False

    def failed(self, exc: BaseException) -> None:
        if not self.failing:
            self._log.warning("%s: Redis unavailable (%s); allowing requests", self._what, exc)
        self.failing = True

    def recovered(self) -> None:
        if self.failing:
            self._log.info("%s: Redis is back; limits apply again", self._what)
        self.failing = False
