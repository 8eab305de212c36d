"""Calling a Rasa action server: one POST, and every way it can fail mapped in one place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, ValidationError

MAX_DETAIL = 200  # characters of the server's error message kept in the event and the log


class ActionServerError(Exception):
    """The action server did not run the action; `reason` is a machine code, `detail` says why."""

    def __init__(self, action: str, reason: str, detail: str) -> None:
        super().__init__(f"action {action!r} failed ({reason}): {detail}")
        self.action, self.reason, self.detail = action, reason, detail[:MAX_DETAIL]


class ActionAnswer(BaseModel):
    """The action server's answer: messages for the customer and events for the tracker."""

    model_config = ConfigDict(extra="ignore")
    events: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []


@dataclass(frozen=True)
class ActionServer:
    endpoint: str
    timeout_seconds: float

    async def run(self, request: dict[str, Any]) -> ActionAnswer:
        """POST the call to the webhook; the answer, or ActionServerError saying what failed."""
        action = str(request.get("next_action"))
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(self.endpoint, json=request) as response,
            ):
                status, body = response.status, await response.read()
        except TimeoutError as exc:
            raise ActionServerError(
                action, "timeout", f"no answer within {self.timeout_seconds:g} s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise ActionServerError(action, "unreachable", str(exc) or type(exc).__name__) from exc
        return read_answer(action, status, body)


def read_answer(action: str, status: int, body: bytes) -> ActionAnswer:
    """Map the HTTP answer to an ActionAnswer or the ActionServerError for its status."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if status == 200:
        try:
            return ActionAnswer.model_validate(data)
        except ValidationError as exc:
            detail = f"the answer is not an object with events and responses lists: {exc}"
            raise ActionServerError(action, "malformed", detail) from None
    error = data.get("error") if isinstance(data, dict) else None
    detail = f"HTTP {status}" + (f": {error}" if isinstance(error, str) else "")
    if status == 404:
        raise ActionServerError(action, "unknown_action", detail)
    if 400 <= status < 500:
        raise ActionServerError(action, "rejected", detail)
    raise ActionServerError(action, "server_error", detail)
