"""benchmarks/load.py against a real `helpline serve`: briefly, for correctness only (the JSON it
prints, no errors, the server's memory read from /proc); speed is measured in the README."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.servers import HelplineServer

pytestmark = pytest.mark.e2e
LOAD = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"
KEYS = {"messages_per_s", "p50_ms", "p95_ms", "p99_ms", "errors", "error_kinds", "messages"}


@pytest.fixture
def server_config() -> Callable[[dict[str, Any]], None]:
    """Every simulated widget conversation comes from 127.0.0.1: allow them all."""

    def change(config: dict[str, Any]) -> None:
        config["channels"]["widget"]["new_conversations"] = {"limit": 10000, "window_seconds": 60}

    return change


def run_load(server: HelplineServer, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(LOAD), "--url", server.url, "--json", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_customers_on_both_channels_and_idle_sockets(helpline_server: HelplineServer) -> None:
    """One server (each start loads the models): REST, the widget socket, a message budget and
    idle sockets, every run without errors."""
    pid = str(helpline_server.pid)
    for channel in ("rest", "websocket"):
        flags = ["--websocket"] if channel == "websocket" else []
        result = run_load(
            helpline_server, "--concurrency", "5", "--duration", "3", "--server-pid", pid, *flags
        )
        assert result.keys() >= KEYS
        assert result["errors"] == 0, result["error_kinds"]
        assert result["messages"] > 0
        assert result["channel"] == channel
        assert result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
        assert result["server_cpu_ms_per_message"] > 0
        assert result["children_cpu_ms_per_message"] > 0  # the parse process parsed them
        assert result["server_rss_mb"] > 50
    budget = run_load(helpline_server, "--concurrency", "3", "--messages", "12", "--think", "0.02")
    assert budget["errors"] == 0, budget["error_kinds"]
    assert budget["messages"] == 12
    assert budget["think_s"] == 0.02
    idle = run_load(helpline_server, "--idle-connections", "50", "--hold", "1", "--server-pid", pid)
    assert idle["errors"] == 0, idle["error_kinds"]
    assert idle["open_after_hold"] == 50
    assert idle["server_rss_mb"] > 50


def test_the_widget_limit_on_new_conversations_is_reported_as_errors(
    helpline_server: HelplineServer,
) -> None:
    """With the default limit (here lowered to 2), conversations past it are refused and the
    benchmark says so instead of counting them as answered."""
    helpline_server.stop()
    config = helpline_server.config
    text = config.read_text().replace("limit: 10000", "limit: 2")
    config.write_text(text)
    helpline_server.start()
    result = run_load(helpline_server, "--concurrency", "4", "--duration", "2", "--websocket")
    assert result["errors"] >= 2
    assert any(kind.startswith("rate_limited") for kind in result["error_kinds"])


def test_a_negative_think_time_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, str(LOAD), "--url", "http://127.0.0.1:9", "--think", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--think not negative" in result.stderr
