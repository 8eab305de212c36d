"""Fuzzing fixtures: the app's test client (from tests/bot), a folder for the generated files,
and, when the session ends, the counts of the standalone run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.conftest import client
from tests.fuzz.tally import write_report

__all__ = ["client"]


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """One folder per test module for the files it writes (hypothesis reruns a test many
    times, so a function-scoped tmp_path would not be fresh per example anyway)."""
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    write_report()
