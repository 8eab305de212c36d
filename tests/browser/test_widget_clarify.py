"""A question the knowledge base is not sure about, in real browsers: the widget shows the best
articles as buttons, pressing one answers the question from that article with its citation, and
the agent who later takes the conversation reads which button the customer pressed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_widget_and_console import customer_says, log_in
from tests.servers import HelplineServer

pytestmark = pytest.mark.e2e
# The NLU recognises it (order_status), and the best article's confidence lies between
# config.yml's clarify and answer thresholds (tests/bot/test_engine.py checks the band).
QUESTION = "where is my order?"


async def test_the_customer_picks_the_article_the_bot_offered(
    helpline_server: HelplineServer, browser: Browser, screenshot: Any
) -> None:
    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await page.goto(f"{helpline_server.url}/")
    await page.get_by_test_id("widget-launcher").click()
    await customer_says(page, QUESTION)
    bot = page.locator('[data-testid="widget-message"][data-sender="bot"]')
    await expect(bot.last).to_contain_text("Is your question about one of these?")
    choices = page.get_by_test_id("widget-quick-reply")
    await expect(choices).to_have_count(3)
    await expect(choices.first).to_have_text("Tracking your order")
    await screenshot(page, "widget-clarify")

    await choices.first.click()
    citation = page.get_by_test_id("widget-citation").last
    await expect(citation).to_contain_text("Tracking your order")
    assert (await citation.get_attribute("href") or "").endswith("/kb/order-tracking")
    await expect(bot.last).to_contain_text("tracking link")
    customer = page.locator('[data-testid="widget-message"][data-sender="customer"]')
    await expect(customer).to_have_count(2)
    await expect(customer.last).to_have_text("Tracking your order")  # the title, not the payload
    await expect(choices).to_have_count(0)  # answered: the buttons are gone

    # handed to a person later, the agent reads the button's title where the customer pressed it
    await customer_says(page, "I was charged twice, I want a refund")
    await expect(bot.last).to_contain_text("billing")
    agent = await log_in(browser, helpline_server.url, "ada")
    await agent.get_by_test_id("ticket-item").first.click()
    pressed = agent.locator('[data-testid="message"][data-sender="customer"][data-payload]')
    await expect(pressed).to_have_count(1)
    # the title, not the payload (which the bubble's tooltip keeps)
    await expect(pressed.locator(".msg-bubble")).to_have_text("Pressed: Tracking your order")
