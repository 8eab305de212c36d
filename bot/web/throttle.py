"""Lock-out after repeated failed log-ins, per username and per client address."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_S = 15 * 60
LOCKOUT_S = 5 * 60


class LoginThrottle:
    """In one process: the last failures per key; a key with MAX_FAILURES inside the window is
    locked until LOCKOUT_S after its latest failure."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, *keys: str) -> int | None:
        """Seconds until these keys may try again, or None when they may try now."""
        now = self._clock()
        waits = [self._wait(key, now) for key in keys]
        longest = max((w for w in waits if w is not None), default=None)
        return math.ceil(longest) if longest is not None else None

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            self._failures[key].append(now)
            self._forget_old(key, now)

    def succeeded(self, *keys: str) -> None:
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
