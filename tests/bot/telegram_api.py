"""A small Bot API server on loopback that speaks the methods helpline uses, and records calls;
files are fetched as from the real one: getFile, then GET /file/bot<token>/<file_path>."""

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
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self.downloads: list[str] = []  # file paths fetched
        self._next_id = 1000
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)
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
        if method == "getFile" and str(params.get("file_id")) not in self.files:
            invalid = "Bad Request: invalid file_id"
            return web.json_response(
                {"ok": False, "error_code": 400, "description": invalid}, status=400
            )
        return web.json_response({"ok": True, "result": await self._result(method, params)})

    def add_file(self, file_id: str, data: bytes, file_path: str) -> dict[str, Any]:
        """A file Telegram keeps for the bot; returns its PhotoSize / Document fields."""
        self.files[file_id] = (file_path, data)
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(data)}

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.Response(status=401)
        path = request.match_info["file_path"]
        found = [data for file_path, data in self.files.values() if file_path == path]
        if not found:
            return web.Response(status=404)
        self.downloads.append(path)
        return web.Response(body=found[0], content_type="application/octet-stream")

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getFile":
            return self._get_file(str(params.get("file_id")))
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

    def _get_file(self, file_id: str) -> dict[str, Any]:
        file_path, data = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(data),
            "file_path": file_path,
        }

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


def file_update(
    update_id: int, chat: int, caption: str | None = None, **media: Any
) -> dict[str, Any]:
    """A message carrying `photo=[sizes]`, `document={...}`, `voice={...}`, with a caption."""
    update = text_update(update_id, chat, "")
    message = update["message"]
    del message["text"]
    message.update(media)
    if caption is not None:
        message["caption"] = caption
    return update
