"""A request id for every request: the client's X-Request-ID when it is a plain token, else a
new one; returned in the X-Request-ID header and carried by every log line of the request."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot import logs

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_request_id(offered: str | None) -> str:
    return offered if offered and _ACCEPTED.match(offered) else uuid.uuid4().hex


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = new_request_id(request.headers.get(HEADER))
    logs.request_id.set(rid)
    logs.conversation_id.set(None)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[HEADER] = rid
        raise
    if not response.prepared:  # a WebSocket has sent its headers already
        response.headers[HEADER] = rid
    return response


class AccessLogger(AbstractAccessLogger):
    """One line per request with its route, status and time: no address, query or agent."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1f ms", request.method, request.path, response.status, time * 1000
        )
