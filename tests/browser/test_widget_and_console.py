"""A customer in the widget and an agent in the console, each in a real browser, talking live."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import SERVER_PASSWORD
from tests.servers import HelplineServer

pytestmark = pytest.mark.e2e


async def _customer_says(page: Page, text: str) -> None:
    await page.get_by_test_id("widget-input").fill(text)
    await page.keyboard.press("Enter")


async def test_customer_and_agent_in_real_browsers(
    helpline_server: HelplineServer, browser: Browser
) -> None:
    # the server is set up first so that it stops after the browser (Playwright's driver
    # process is reaped by asyncio, which must not race with waiting for the server)
    url = helpline_server.url
    customer = await (await browser.new_context()).new_page()
    await customer.goto(f"{url}/")
    await customer.get_by_test_id("widget-launcher").click()
    await _customer_says(customer, "how long does shipping to Germany take?")
    citation = customer.get_by_test_id("widget-citation").first
    await expect(citation).to_contain_text("Shipping times and costs")
    assert (await citation.get_attribute("href") or "").endswith("/kb/shipping-times-and-costs")

    await _customer_says(customer, "I was charged twice, I want a refund")
    bot_messages = customer.locator('[data-testid="widget-message"][data-sender="bot"]')
    await expect(bot_messages.last).to_contain_text("billing")

    agent = await (await browser.new_context()).new_page()
    await agent.goto(f"{url}/login")
    await agent.get_by_test_id("login-username").fill("ada")
    await agent.get_by_test_id("login-password").fill(SERVER_PASSWORD)
    await agent.get_by_test_id("login-submit").click()
    await agent.get_by_test_id("ticket-item").first.click()
    await expect(agent.get_by_test_id("transcript")).to_contain_text("I was charged twice")
    await expect(agent.get_by_test_id("nlu").first).to_contain_text("shipping_info")
    if await agent.get_by_test_id("take-button").is_visible():
        await agent.get_by_test_id("take-button").click()

    await agent.get_by_test_id("reply-input").fill("Hi, Ada here. I'm refunding the second charge.")
    await agent.get_by_test_id("reply-send").click()
    agent_line = customer.locator('[data-testid="widget-message"][data-sender="agent"]')
    await expect(agent_line).to_contain_text("refunding the second charge")

    await _customer_says(customer, "Thank you <b>so</b> much!")
    await expect(agent.get_by_test_id("transcript")).to_contain_text("Thank you <b>so</b> much!")
    assert await agent.locator("[data-testid=transcript] b").count() == 0  # rendered escaped

    await agent.get_by_test_id("resolve-button").click()
    await customer.get_by_test_id("csat-5").click()
    await expect(customer.get_by_test_id("csat-thanks")).to_be_visible()

    tickets = json.loads(helpline_server.cli("tickets", "list", "--json"))["tickets"]
    assert [(t["status"], t["queue"]) for t in tickets] == [("resolved", "billing")]
