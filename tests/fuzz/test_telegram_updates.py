"""Fuzzing Telegram's webhook: with the right secret, any body is handled (200) or refused with
the 4xx error shape; never a 500."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from bot.components import Components
from bot.web.app import create_app
from tests.bot.conftest import Client
from tests.bot.telegram_api import TOKEN, FakeBotApi, text_update
from tests.fuzz.strategies import JSON, SCALARS, TEXT, json_text
from tests.fuzz.tally import fuzz, outcome

SECRET = "fuzz-webhook-secret"
HOOK = "/webhooks/telegram"
_ids = itertools.count(1)


@pytest.fixture
async def tg_client(
    aiohttp_client: Callable[..., Awaitable[Client]], components: Components
) -> AsyncIterator[Client]:
    api = FakeBotApi()
    await api.server.start_server()
    components.telegram = TelegramChannel(components.engine, components.hub, TOKEN, SECRET, api.url)
    yield await aiohttp_client(create_app(components))
    await api.server.close()


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, SCALARS, JSON)


USER = st.fixed_dictionaries(
    {"id": _maybe(st.integers()), "is_bot": _maybe(st.booleans()), "first_name": _maybe(TEXT)},
    optional={"last_name": _maybe(TEXT), "username": _maybe(TEXT)},
)
CHAT = st.fixed_dictionaries(
    {"id": _maybe(st.integers()), "type": _maybe(st.sampled_from(["private", "group"]))}
)
MESSAGE = st.fixed_dictionaries(
    {
        "message_id": _maybe(st.integers(min_value=1)),
        "date": _maybe(st.integers(min_value=0, max_value=2**31)),
        "chat": _maybe(CHAT),
    },
    optional={
        "text": _maybe(TEXT),
        "caption": _maybe(TEXT),
        "from": _maybe(USER),
        "edit_date": _maybe(st.integers()),
        "photo": _maybe(st.lists(JSON, max_size=2)),
        "document": _maybe(st.dictionaries(st.sampled_from(["file_id", "file_name"]), TEXT)),
    },
)
CALLBACK = st.fixed_dictionaries(
    {"id": _maybe(TEXT), "from": _maybe(USER), "chat_instance": _maybe(TEXT)},
    optional={
        "data": _maybe(st.one_of(TEXT, st.sampled_from(["csat:5", "csat:x", "csat:"]))),
        "message": _maybe(MESSAGE),
    },
)
UPDATES = st.fixed_dictionaries(
    {"update_id": st.one_of(st.integers(min_value=0, max_value=2**40), SCALARS)},
    optional={
        "message": _maybe(MESSAGE),
        "edited_message": _maybe(MESSAGE),
        "callback_query": _maybe(CALLBACK),
    },
)
BODIES = st.one_of(UPDATES.map(json_text), JSON.map(json_text), st.text(max_size=200))


async def post(client: Client, body: str) -> tuple[int, Any]:
    response = await client.post(
        HOOK,
        data=body.encode(),
        headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
    )
    payload = json.loads(await response.text())
    error = payload.get("error") if isinstance(payload, dict) else None
    declared = (response.status == 200 and payload == {"ok": True}) or (
        400 <= response.status < 500
        and isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    )
    outcome("telegram", declared=declared)
    assert declared, (response.status, payload, body[:500])
    return response.status, payload


@fuzz
@given(body=BODIES)
async def test_any_update_is_handled_or_refused_with_a_4xx(tg_client: Client, body: str) -> None:
    await post(tg_client, body)


@fuzz
@given(
    text=st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=300
    ).filter(lambda t: t.strip())
)
async def test_any_text_message_is_taken(
    tg_client: Client, components: Components, text: str
) -> None:
    number = next(_ids)
    update = text_update(number, 1000 + number % 10, text)
    update["message"]["date"] = int(time.time())
    status, _ = await post(tg_client, json_text(update))
    assert status == 200
