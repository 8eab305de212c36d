"""Prometheus metrics: requests by route, messages, NLU timings, queue depths; no personal data."""

from __future__ import annotations

import re

from tests.bot.conftest import Client


def value(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match is not None, (name, labels)
    return float(match.group(1))


async def test_metrics_count_what_happened(client: Client) -> None:
    secret = "my-email-is-jo@example.com"
    await client.post("/webhooks/rest/webhook", json={"sender": "m1", "message": f"hi, {secret}"})
    await client.post(
        "/webhooks/rest/webhook",
        json={"sender": "m2", "message": "I was charged twice, I want a refund"},
    )
    await client.get("/api/console/tickets/12345")  # 401, counted by its route, not its id
    text = await (await client.get("/metrics")).text()
    assert value(text, "helpline_messages_total", '{channel="rest"}') == 2
    assert value(text, "helpline_nlu_parse_seconds_count") == 2
    assert (
        value(
            text,
            "helpline_http_requests_total",
            '{method="POST",route="/webhooks/rest/webhook",status="200"}',
        )
        == 2
    )
    assert (
        value(
            text,
            "helpline_http_requests_total",
            '{method="GET",route="/api/console/tickets/{ticket_id}",status="401"}',
        )
        == 1
    )
    assert value(text, "helpline_queue_waiting_tickets", '{queue="billing"}') == 1
    assert value(text, "helpline_queue_waiting_tickets", '{queue="orders"}') == 0
    assert secret not in text and "12345" not in text and "m1" not in text
