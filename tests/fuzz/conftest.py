"""Fuzzing fixtures: the app's test client (from tests/bot) and, when the session ends, the
counts of the standalone run."""

from __future__ import annotations

import pytest

from tests.bot.conftest import client
from tests.fuzz.tally import write_report

__all__ = ["client"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    write_report()
