"""The life of a WebSocket both the widget and the console share: read text frames while a
second task sends live updates out, and stop that task when the socket closes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import WSMsgType, web


async def relay(
    socket: web.WebSocketResponse,
    on_text: Callable[[str], Awaitable[None]],
    forward: Coroutine[Any, Any, None],
) -> None:
    """Hand each text frame to `on_text` while `forward` runs; ends at close or error."""
    task = asyncio.create_task(forward)
    try:
        async for frame in socket:
            if frame.type == WSMsgType.TEXT:
                await on_text(frame.data)
            elif frame.type == WSMsgType.ERROR:
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
