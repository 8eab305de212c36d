"""A small Bot API server on loopback that speaks the methods helpline uses, and records calls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "123456:TEST-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Finch", "username": "finch_bot"}
Reply = Callable[[dict[str, Any]], dict[str, Any] | None]


class FakeBotApi:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self.overrides: dict[str, list[dict[str, Any]]] = {}  # method -> queued error replies
        self._next_id = 1000
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        method = request.match_info["method"]
        params = await _params(request)
        self.calls.append((method, params))
        queued = self.overrides.get(method)
        if queued:
            error = queued.pop(0)  # the Bot API answers errors with the HTTP status of the code
            return web.json_response(error, status=int(error["error_code"]))
        return web.json_response({"ok": True, "result": await self._result(method, params)})

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            self._next_id += 1
            chat = int(params["chat_id"])
            return {
                "message_id": self._next_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "from": BOT_USER,
                "text": params["text"],
            }
        if method == "getUpdates":
            pending, self.updates = self.updates, []
            if not pending:
                await asyncio.sleep(0.2)
            return pending
        return True  # deleteWebhook, setWebhook, answerCallbackQuery

    def sent(self, chat: int | None = None) -> list[dict[str, Any]]:
        return [
            p
            for m, p in self.calls
            if m == "sendMessage" and (chat is None or int(p["chat_id"]) == chat)
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {self.calls}")
            await asyncio.sleep(0.05)


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body or {})
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        text = value if isinstance(value, str) else ""
        try:
            params[key] = json.loads(text) if text[:1] in "[{" else text
        except ValueError:
            params[key] = text
    return params


def text_update(
    update_id: int, chat: int, text: str, message_id: int | None = None
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id or update_id,
            "date": int(time.time()),
            "text": text,
            "chat": {"id": chat, "type": "private", "first_name": "Kim"},
            "from": {"id": chat, "is_bot": False, "first_name": "Kim", "last_name": "Lee"},
        },
    }
