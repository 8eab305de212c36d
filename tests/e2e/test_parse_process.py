"""A served worker parses in a child process; when that child is killed the next messages are
still answered (a new child parses them), and /health and /metrics say what happened."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.servers import HelplineServer

pytestmark = pytest.mark.e2e


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[1])


async def test_a_killed_parse_process_is_replaced_and_no_message_is_lost(
    helpline_server: HelplineServer,
) -> None:
    url = helpline_server.url
    async with aiohttp.ClientSession() as http:
        health = await (await http.get(f"{url}/health")).json()
        child = health["parse_process"]["pid"]
        assert parent_of(child) == helpline_server.pid
        assert health["parse_process"]["restarts"] == 0
        os.kill(child, signal.SIGKILL)  # the next message may reach it before its death is seen
        texts = ["hi", "how long does shipping to Germany take?"]
        for n, text in enumerate(texts):
            message = {"sender": "parse-death", "message": text}
            response = await http.post(f"{url}/webhooks/rest/webhook", json=message)
            assert response.status == 200, await response.text()
            replies = await response.json()
            assert replies and replies[0]["text"], (n, replies)
        health = await (await http.get(f"{url}/health")).json()
        assert health["parse_process"]["restarts"] == 1
        assert health["parse_process"]["pid"] not in (child, helpline_server.pid)
        assert parent_of(health["parse_process"]["pid"]) == helpline_server.pid
        metrics = await (await http.get(f"{url}/metrics")).text()
        assert "helpline_parse_process_restarts 1.0" in metrics
