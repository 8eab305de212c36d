"""privacy.redact in config.yml: validated at start-up, applied on every channel by wire()."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.components import Components
from bot.settings import ConfigError, load_settings
from storage.models import Message
from tests.bot.conftest import Client

ROOT = Path(__file__).resolve().parents[2]


def _load(tmp_path: Path, redact: object) -> None:
    data = yaml.safe_load((ROOT / "config.yml").read_text())
    data["privacy"] = {"redact": redact}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data))
    load_settings(path)


def test_patterns_are_checked_at_start_up(tmp_path: Path) -> None:
    _load(tmp_path, {"cards": True, "patterns": [{"label": "iban", "pattern": r"\bDE\d{20}\b"}]})
    with pytest.raises(ConfigError, match=r"privacy\.redact\.patterns\.0"):
        _load(tmp_path, {"patterns": [{"label": "iban", "pattern": "DE[0-9"}]})
    with pytest.raises(ConfigError, match="label"):
        _load(tmp_path, {"patterns": [{"label": "Bad Label", "pattern": "x"}]})


async def test_a_card_number_sent_on_the_rest_channel_is_stored_redacted(
    client: Client, components: Components
) -> None:
    body = {"sender": "card-sender", "message": "I was charged twice on 4111 1111 1111 1111"}
    response = await client.post("/webhooks/rest/webhook", json=body)
    assert response.status == 200
    async with components.db.session() as session:
        stored = list(
            await session.scalars(select(Message.text).where(Message.sender == "customer"))
        )
    assert stored == ["I was charged twice on [card]"]


async def test_the_widget_acknowledges_the_redacted_text(client: Client) -> None:
    async with client.ws_connect("/ws/widget") as socket:
        await socket.send_json({"type": "hello"})
        assert (await socket.receive_json())["type"] == "welcome"
        await socket.send_json(
            {"type": "message", "text": "card 5555555555554444", "client_id": "c1"}
        )
        ack = await socket.receive_json()
    assert ack["type"] == "ack" and ack["message"]["text"] == "card [card]"
