"""Work a server does every few seconds beside serving (SLA checks, keeping the knowledge base
in step with other workers). It starts with the app and stops with it between two rounds: a
round in progress finishes first, so no query is cut off half-way through its connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)
STOP_WAIT_S = 30.0  # a round still running after this long at shutdown is cancelled
Round = Callable[[web.Application], Awaitable[object]]
CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def every(seconds: Callable[[web.Application], float], work: Round, name: str) -> CleanupContext:
    """An aiohttp cleanup context running `work(app)` now and then every `seconds(app)`; a
    failed round is logged and the next one runs as planned."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        stopping = asyncio.Event()
        task = asyncio.create_task(_rounds(app, seconds(app), work, name, stopping), name=name)
        yield
        stopping.set()
        try:
            await asyncio.wait_for(task, STOP_WAIT_S)
        except TimeoutError:
            log.warning("%s did not finish its round in %.0f s; cancelled", name, STOP_WAIT_S)

    return context


async def _rounds(
    app: web.Application, seconds: float, work: Round, name: str, stopping: asyncio.Event
) -> None:
    while not stopping.is_set():
        try:
            await work(app)
        except Exception:
            # the server keeps serving; the next round tries again
            log.exception("%s failed; trying again in %.0f s", name, seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), seconds)
