"""Telegram while the database is down: the webhook answers 503 so that Telegram delivers the
update again, and the redelivery after recovery is stored and answered once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.components import Components
from storage import migrate
from storage.models import Message
from tests.bot.telegram_api import FakeBotApi, text_update
from tests.bot.test_telegram import CHAT, Client, api, count, post, tg_client
from tests.conftest import _fresh_postgres_url
from tests.servers import PostgresServer

__all__ = ["api", "tg_client"]  # the Telegram fixtures, shared


@pytest.fixture
async def app_database_url(own_postgres: PostgresServer) -> AsyncIterator[str]:
    url = await _fresh_postgres_url(own_postgres)
    await migrate.upgrade_async(url)
    yield url


async def test_the_webhook_answers_503_while_the_database_is_down(
    tg_client: Client, components: Components, api: FakeBotApi, own_postgres: PostgresServer
) -> None:
    update = text_update(70, CHAT, "how long does shipping to Germany take?")
    own_postgres.pause()
    try:
        assert await post(tg_client, update) == 503
    finally:
        own_postgres.resume()
    assert api.sent(CHAT) == []
    assert await post(tg_client, update) == 200  # Telegram's redelivery
    await api.wait_for(lambda: len(api.sent(CHAT)) == 1)
    assert await count(components, Message, Message.sender == "customer") == 1
