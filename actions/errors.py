"""The application's error base: a machine code, an HTTP status and a message for people."""

from __future__ import annotations

from typing import Any


class HelplineError(Exception):
    code = "error"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}  # machine-readable facts beside the message (e.g. limits)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidInput(HelplineError):
    code, status = "invalid_input", 400


class NotFound(HelplineError):
    code, status = "not_found", 404


class Forbidden(HelplineError):
    code, status = "forbidden", 403


class Conflict(HelplineError):
    code, status = "conflict", 409


class RateLimited(HelplineError):
    """Too many requests; `retry_after` says in how many seconds to try again."""

    code, status = "rate_limited", 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
