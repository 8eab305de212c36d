"""Real rasa-sdk action servers on loopback for the tests, and requests shaped exactly as a
Rasa 3 server sends them to its action endpoint."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


class ActionServerProcess:
    """A process serving Rasa's action protocol on a free port, stopped with SIGTERM."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.webhook = f"{self.url}/webhook"
        self._args = [a.replace("{port}", str(self.port)) for a in args]
        self._env, self._log = env, log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> ActionServerProcess:
        with self._log.open("w") as output:
            self._process = subprocess.Popen(
                [sys.executable, *self._args],
                env=self._env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AssertionError(f"action server exited:\n{self._log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if json.load(response)["status"] == "ok":
                        return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the action server did not answer /health in 60 s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)

    def log(self) -> str:
        return self._log.read_text()


def rasa_request(
    action: str,
    sender: str,
    text: str,
    intent: str,
    *,
    entities: dict[str, str] | None = None,
    slots: dict[str, Any] | None = None,
    message_id: str = "5b1e0c6a9f4d4d1c8f0b7d6c5e4a3b21",
) -> dict[str, Any]:
    """The body Rasa 3 POSTs to its action endpoint after the user said `text`."""
    found = [
        {
            "entity": name,
            "start": max(text.find(value), 0),
            "end": max(text.find(value), 0) + len(value),
            "confidence_entity": 0.998,
            "value": value,
            "extractor": "DIETClassifier",
        }
        for name, value in (entities or {}).items()
    ]
    latest = {
        "intent": {"name": intent, "confidence": 0.9731},
        "entities": found,
        "text": text,
        "message_id": message_id,
        "metadata": {},
        "text_tokens": [],
        "intent_ranking": [{"name": intent, "confidence": 0.9731}],
    }
    listen = {"event": "action", "name": "action_listen", "policy": None, "confidence": None}
    events = [
        {**listen, "timestamp": 1764489600.01, "name": "action_session_start"},
        {"event": "session_started", "timestamp": 1764489600.02},
        {**listen, "timestamp": 1764489600.03},
        {
            "event": "user",
            "timestamp": 1764489601.5,
            "text": text,
            "parse_data": latest,
            "input_channel": "rest",
            "message_id": message_id,
            "metadata": {},
        },
    ]
    slot_values = {"session_started_metadata": None, **(slots or {})}
    return {
        "next_action": action,
        "sender_id": sender,
        "tracker": {
            "sender_id": sender,
            "slots": slot_values,
            "latest_message": latest,
            "latest_event_time": 1764489601.5,
            "followup_action": None,
            "paused": False,
            "stack": [],
            "events": events,
            "latest_input_channel": "rest",
            "active_loop": {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
        "domain": {
            "version": "3.1",
            "config": {"store_entities_as_slots": True},
            "session_config": {
                "session_expiration_time": 60,
                "carry_over_slots_to_new_session": True,
            },
            "intents": [intent],
            "entities": sorted(entities or {}),
            "slots": {name: {"type": "any", "mappings": []} for name in slot_values},
            "responses": {},
            "actions": [action],
            "forms": {},
            "e2e_actions": [],
        },
        "version": "3.21.1",
    }
