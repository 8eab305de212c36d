"""A customer in the widget and an agent in the console, each in a real browser, talking live;
then the supervisor reads the rating in the reports."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import SERVER_PASSWORD
from tests.servers import HelplineServer

pytestmark = pytest.mark.e2e
XSS = "<img src=x onerror=alert(1)>"


async def customer_says(page: Page, text: str) -> None:
    await page.get_by_test_id("widget-input").fill(text)
    await page.keyboard.press("Enter")


async def log_in(browser: Browser, url: str, username: str) -> Page:
    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await page.goto(f"{url}/login")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(SERVER_PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url("**/console*" if username == "ada" else "**/reports*")
    return page


async def test_customer_and_agent_in_real_browsers(
    helpline_server: HelplineServer, browser: Browser, screenshot: Any
) -> None:
    # the server is set up first so that it stops after the browser (Playwright's driver
    # process is reaped by asyncio, which must not race with waiting for the server)
    url = helpline_server.url
    dialogs: list[str] = []
    customer = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    customer.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await customer.goto(f"{url}/")
    await customer.get_by_test_id("widget-launcher").click()
    await customer_says(customer, "how long does shipping to Germany take?")
    citation = customer.get_by_test_id("widget-citation").first
    await expect(citation).to_contain_text("Shipping times and costs")
    assert (await citation.get_attribute("href") or "").endswith("/kb/shipping-times-and-costs")

    await customer_says(customer, "I was charged twice, I want a refund")
    bot_messages = customer.locator('[data-testid="widget-message"][data-sender="bot"]')
    await expect(bot_messages.last).to_contain_text("billing")

    agent = await log_in(browser, url, "ada")
    agent.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await agent.get_by_test_id("ticket-item").first.click()
    await expect(agent.get_by_test_id("transcript")).to_contain_text("I was charged twice")
    await expect(agent.get_by_test_id("nlu").first).to_contain_text("shipping_info")
    if await agent.get_by_test_id("take-button").is_visible():
        await agent.get_by_test_id("take-button").click()

    await agent.get_by_test_id("reply-input").fill("Hi, Ada here. I'm refunding the second charge.")
    await agent.get_by_test_id("reply-send").click()
    agent_lines = customer.locator('[data-testid="widget-message"][data-sender="agent"]')
    await expect(agent_lines.first).to_contain_text("refunding the second charge")

    await screenshot(customer, "widget")
    await screenshot(agent, "console")

    # markup from either side is shown as text, never run
    await customer_says(customer, XSS)
    await expect(agent.get_by_test_id("transcript")).to_contain_text(XSS)
    await agent.get_by_test_id("reply-input").fill(XSS)
    await agent.get_by_test_id("reply-send").click()
    await expect(agent_lines.last).to_contain_text(XSS)
    assert await customer.locator("[data-testid=widget-transcript] img").count() == 0
    assert await agent.locator("[data-testid=transcript] img").count() == 0

    # web addresses in a message become links on both sides; other schemes stay text
    await customer_says(customer, "see https://example.com/order?id=7. or javascript:alert(1)")
    for page, transcript in ((agent, "transcript"), (customer, "widget-transcript")):
        link = page.get_by_test_id(transcript).locator('a[href="https://example.com/order?id=7"]')
        await expect(link).to_have_text("https://example.com/order?id=7")
        assert await link.get_attribute("rel") == "noopener noreferrer"
        scripted = page.get_by_test_id(transcript).locator('a[href^="javascript"]')
        assert await scripted.count() == 0

    await agent.get_by_test_id("resolve-button").click()
    await customer.get_by_test_id("csat-5").click()
    await expect(customer.get_by_test_id("csat-thanks")).to_be_visible()
    assert dialogs == []  # no script from a message ever ran

    supervisor = await log_in(browser, url, "sam")
    await expect(supervisor.get_by_test_id("report-csat")).to_have_text("100%")
    await expect(supervisor.get_by_test_id("report-ratings")).to_have_text("1")
    await screenshot(supervisor, "reports")

    tickets = json.loads(helpline_server.cli("tickets", "list", "--json"))["tickets"]
    assert [(t["status"], t["queue"]) for t in tickets] == [("resolved", "billing")]
