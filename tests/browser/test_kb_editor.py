"""The knowledge-base editor in a real browser against `helpline serve`: a supervisor finds it
in the top bar, edits an article, and the running bot answers a customer from the new text with
its citation; an unanswered question shows on the gaps page; an agent has no link to it."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_widget_and_console import log_in
from tests.servers import HelplineServer

pytestmark = pytest.mark.e2e
SHIPPING = "shipping-times-and-costs"


def customer_asks(url: str, sender: str, text: str) -> dict[str, Any]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        replies: list[dict[str, Any]] = json.load(response)
    assert len(replies) == 1
    return replies[0]


async def test_a_supervisor_edits_an_article_and_the_bot_answers_from_it(
    helpline_server: HelplineServer, browser: Browser, screenshot: Any
) -> None:
    url = helpline_server.url
    page = await log_in(browser, url, "sam")
    await page.get_by_test_id("nav-kb").click()
    await page.wait_for_url("**/kb/admin")
    row = page.locator(f'tr[data-slug="{SHIPPING}"]')
    await expect(row).to_contain_text("published")
    await screenshot(page, "kb-editor")

    await row.get_by_role("link").click()
    body = page.get_by_label("Text (Markdown", exact=False)
    await body.fill("Orders to Germany arrive within 9 business days by sea freight.")
    await page.get_by_test_id("kb-save").click()
    await expect(page.get_by_test_id("kb-saved")).to_contain_text("answers from the new text")
    await screenshot(page, "kb-article-editor")

    reply = customer_asks(url, "b1", "how long does shipping to Germany take?")
    assert "9 business days" in reply["text"]
    assert reply["citations"] == [{"title": "Shipping times and costs", "url": f"/kb/{SHIPPING}"}]

    await page.get_by_test_id("kb-title").fill(" ")
    await page.get_by_test_id("kb-save").click()
    await expect(page.get_by_test_id("kb-error")).to_have_text("the title is empty")

    customer_asks(url, "b2", "do you sell tickets for the opera in Vienna?")
    await page.goto(f"{url}/kb/gaps?period=7d")
    await expect(page.get_by_test_id("kb-gaps")).to_contain_text("opera in Vienna")
    await screenshot(page, "kb-gaps")

    agent = await log_in(browser, url, "ada")
    await expect(agent.get_by_test_id("nav-kb")).to_have_count(0)
