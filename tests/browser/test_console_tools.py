"""The console's tools in a real browser: the supervisor hears of an SLA escalation as it
happens and writes a canned response; the agent sees the SLA clock and inserts the response
with "/" and Enter."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_widget_and_console import log_in
from tests.servers import HelplineServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def server_config() -> Callable[[dict[str, Any]], None]:
    """Billing answers within a minute (first and next replies) and the server checks SLAs
    every second, always open."""

    def change(config: dict[str, Any]) -> None:
        config["routing"]["check_every_seconds"] = 1
        config["routing"]["escalate_before_minutes"] = 1
        config["routing"].pop("business_hours", None)
        billing = next(q for q in config["queues"] if q["name"] == "billing")
        minute = {"first_response": 1, "next_response": 1}
        billing["sla"] = {p: minute for p in ("low", "normal", "high", "urgent")}

    return change


def customer_writes(url: str, text: str) -> None:
    body = json.dumps({"sender": "customer-1", "message": text}).encode()
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


async def test_sla_alert_and_canned_responses(
    helpline_server: HelplineServer, browser: Browser
) -> None:
    url = helpline_server.url
    supervisor = await log_in(browser, url, "sam")
    await supervisor.goto(f"{url}/console")
    # the supervisor watches (away: takes no tickets), so the ticket goes to Ada
    await supervisor.get_by_test_id("presence-select").select_option("away")
    await expect(supervisor.get_by_test_id("toast").filter(has_text="away")).to_be_visible()
    await supervisor.get_by_test_id("filter-all").click()
    await expect(supervisor.get_by_test_id("live-status")).to_have_attribute("data-state", "live")

    customer_writes(url, "I was charged twice, I want a refund")
    alert = supervisor.get_by_test_id("toast").filter(has_text="SLA about to breach")
    await expect(alert).to_be_visible(timeout=15_000)
    await expect(alert).to_contain_text("(billing)")
    await expect(supervisor.get_by_test_id("sla-badge").first).to_have_text("SLA at risk")

    await supervisor.get_by_test_id("canned-manage").click()
    editor = supervisor.get_by_test_id("canned-editor")
    await editor.get_by_label("Shortcut").fill("refund")
    await editor.get_by_label("Title").fill("Refund started")
    await editor.get_by_label("Text").fill(
        "Hi {customer}, {agent} here: your refund is on its way."
    )
    await editor.get_by_role("button", name="Save").click()
    dialog = supervisor.get_by_test_id("canned-dialog")
    await expect(dialog.get_by_test_id("canned-item")).to_contain_text("/refund · Refund started")

    agent = await log_in(browser, url, "ada")
    await expect(agent.get_by_test_id("sla-clock").first).to_contain_text("1st reply")
    await agent.get_by_test_id("ticket-item").first.click()
    if await agent.get_by_test_id("take-button").is_visible():
        await agent.get_by_test_id("take-button").click()
    reply = agent.get_by_test_id("reply-input")
    await expect(reply).to_be_enabled()
    await reply.fill("")
    await reply.press_sequentially("/ref")
    await expect(agent.get_by_test_id("canned-option")).to_have_count(1)
    await reply.press("Enter")  # picks the response; does not send "/ref"
    name = await agent.get_by_test_id("customer-name").inner_text()
    assert name
    await expect(reply).to_have_value(f"Hi {name}, Ada Lovelace here: your refund is on its way.")
    await reply.press("Enter")
    transcript = agent.get_by_test_id("transcript")
    await expect(transcript).to_contain_text("Ada Lovelace here: your refund is on its way.")
    assert "/ref" not in (await transcript.inner_text())

    # each time the customer waits for a new answer, the next-reply clock escalates again
    waiting = supervisor.get_by_test_id("toast").filter(has_text="Next response SLA about to")
    for turn, question in enumerate(["Is it done?", "And now?"]):
        customer_writes(url, question)
        await expect(transcript).to_contain_text(question)
        await expect(waiting).to_have_count(1, timeout=15_000)
        await expect(waiting).to_have_count(0, timeout=15_000)  # toasts go after 8 s
        await reply.fill(f"Still on it ({turn + 1}).")
        await reply.press("Enter")
        await expect(transcript).to_contain_text(f"Still on it ({turn + 1}).")
