"""A customer attaches a picture and a PDF in the widget; the agent sees the picture and the PDF's
link in the console as they arrive, and the customer still sees them after a reload."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.actions.test_attachments import PDF
from tests.browser.test_widget_and_console import customer_says, log_in
from tests.servers import HelplineServer

pytestmark = pytest.mark.e2e


def tiny_png(width: int = 24, height: int = 16) -> bytes:
    """A real, decodable PNG (a red rectangle), so that the browser can show it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xd0\x30\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def shown_width(image: Locator) -> int:
    """The decoded width of an <img>: 0 when the browser could not load it."""
    await expect(image).to_be_visible()
    return int(await image.evaluate("img => img.complete ? img.naturalWidth : 0"))


async def attach(page: Page, name: str, mime: str, data: bytes) -> None:
    attach_button = page.get_by_test_id("widget-attach")
    await expect(attach_button).to_have_attribute("aria-label", "Attach a file (image or PDF)")
    await page.get_by_test_id("widget-file").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}]
    )


async def test_a_picture_sent_in_the_widget_reaches_the_agent(
    helpline_server: HelplineServer, browser: Browser, screenshot: Any
) -> None:
    url = helpline_server.url
    customer = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    await customer.goto(f"{url}/")
    await customer.get_by_test_id("widget-launcher").click()
    await customer_says(customer, "I was charged twice, I want a refund")
    bot_messages = customer.locator('[data-testid="widget-message"][data-sender="bot"]')
    await expect(bot_messages.last).to_contain_text("billing")

    agent = await log_in(browser, url, "ada")
    await agent.get_by_test_id("ticket-item").first.click()
    transcript = agent.get_by_test_id("transcript")
    await expect(transcript).to_contain_text("I was charged twice")

    await attach(customer, "receipt.png", "image/png", tiny_png())
    thumbnail = customer.locator("[data-testid=widget-attachment] img")
    assert await shown_width(thumbnail) == 24
    await attach(customer, "invoice.pdf", "application/pdf", PDF)
    pdf_link = customer.get_by_test_id("widget-attachment").filter(has_text="invoice.pdf")
    await expect(pdf_link).to_have_attribute("data-content-type", "application/pdf")

    picture = transcript.locator("[data-testid=message-attachment] img")
    assert await shown_width(picture) == 24  # served to the agent, live, without a reload
    pdf = transcript.locator("[data-testid=message-attachment]", has_text="invoice.pdf")
    href = await pdf.get_attribute("href")
    assert href is not None
    await screenshot(customer, "widget-attachments")
    await screenshot(agent, "console-attachments")
    served = await agent.request.get(href)
    assert served.status == 200
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("attachment;")

    await customer.reload()
    await customer.get_by_test_id("widget-launcher").click()
    again = customer.locator("[data-testid=widget-attachment] img")
    assert await shown_width(again) == 24  # the history keeps the pictures
    await expect(customer.get_by_test_id("widget-attachment")).to_have_count(2)
