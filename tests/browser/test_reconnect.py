"""The server goes away mid-conversation: the widget reconnects, resends what was not
acknowledged, and nothing is lost or stored twice; the agent console reconnects and shows what
the customer wrote since."""

from __future__ import annotations

import asyncio
import json

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_console_tools import customer_writes
from tests.browser.test_widget_and_console import customer_says, log_in
from tests.servers import HelplineServer

pytestmark = pytest.mark.e2e


async def test_messages_survive_a_dropped_connection(
    helpline_server: HelplineServer, browser: Browser
) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{helpline_server.url}/")
    await page.get_by_test_id("widget-launcher").click()
    await customer_says(page, "hi")
    customer = page.locator('[data-testid="widget-message"][data-sender="customer"]')
    await expect(page.locator('[data-testid="widget-message"][data-sender="bot"]')).to_have_count(1)

    helpline_server.stop()
    await expect(page.get_by_test_id("widget-connection")).to_contain_text("Reconnecting")
    await customer_says(page, "how long does shipping to Germany take?")
    await asyncio.sleep(1)
    await asyncio.to_thread(helpline_server.start)

    bot = page.locator('[data-testid="widget-message"][data-sender="bot"]')
    await expect(bot).to_have_count(2, timeout=30_000)
    await expect(bot.last).to_contain_text("Germany")
    await expect(customer).to_have_count(2)

    await page.reload()
    await page.get_by_test_id("widget-launcher").click()
    await expect(page.locator('[data-testid="widget-message"]')).to_have_count(4)
    csv_rows = helpline_server.cli("report", "--since", "all", "--format", "json")
    assert json.loads(csv_rows)["summary"]["conversations"] == 1


async def test_the_console_reconnects_and_catches_up(
    helpline_server: HelplineServer, browser: Browser
) -> None:
    url = helpline_server.url
    customer_writes(url, "I was charged twice, I want a refund")
    agent = await log_in(browser, url, "ada")
    errors: list[str] = []
    agent.on("pageerror", lambda error: errors.append(str(error)))
    await agent.reload()
    live = agent.get_by_test_id("live-status")
    await expect(live).to_have_attribute("data-state", "live")
    await agent.get_by_test_id("ticket-item").first.click()
    transcript = agent.get_by_test_id("transcript")
    await expect(transcript).to_contain_text("I was charged twice")

    helpline_server.stop()
    await expect(live).to_have_attribute("data-state", "reconnecting")
    await asyncio.to_thread(helpline_server.start)
    customer_writes(url, "are you still there?")
    await expect(live).to_have_attribute("data-state", "live", timeout=30_000)
    await expect(transcript).to_contain_text("are you still there?")
    assert errors == []
