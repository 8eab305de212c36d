"""Reading request input: JSON bodies and path ids, with errors that say what was wrong."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from actions.errors import InvalidInput


def path_id(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise InvalidInput(f"{name} must be a number, got {raw[:20]!r}")
    return int(raw)


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise InvalidInput("the request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body
