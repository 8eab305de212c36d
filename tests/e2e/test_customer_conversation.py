"""One customer conversation end to end, against a real `helpline serve` process:
KB answer with citation, handoff to billing, an agent takes it live, resolves, the customer rates,
the supervisor reads the report, and the CLI sees the same data."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import SERVER_PASSWORD
from tests.servers import HelplineServer

pytestmark = pytest.mark.e2e


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def receive(
    socket: aiohttp.ClientWebSocketResponse, kind: str, **match: Any
) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            frame = await socket.receive_json()
            if frame["type"] == kind and all(_get(frame, k) == v for k, v in match.items()):
                return frame

    return await asyncio.wait_for(wait(), 15)


def _get(frame: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("__"):
        frame = frame.get(part) if isinstance(frame, dict) else None  # type: ignore[assignment]
    return frame


async def log_in(http: aiohttp.ClientSession, url: str, username: str) -> str:
    page = await (await http.get(f"{url}/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    form = {"username": username, "password": SERVER_PASSWORD, "csrf_token": token.group(1)}
    response = await http.post(f"{url}/login", data=form, allow_redirects=False)
    assert response.status == 303
    console = await (await http.get(f"{url}/console")).text()
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', console)
    assert meta is not None
    return meta.group(1)


async def test_customer_conversation_end_to_end(
    helpline_server: HelplineServer, http: aiohttp.ClientSession
) -> None:
    server = helpline_server.url
    ws_url = server.replace("http", "ws")
    assert "/static/widget.js" in await (await http.get(f"{server}/")).text()

    # 2. the customer asks; the answer cites its article, and the link works
    async with aiohttp.ClientSession() as customer:
        widget = await customer.ws_connect(f"{ws_url}/ws/widget")
        await widget.send_json({"type": "hello", "token": None})
        await receive(widget, "welcome")
        await widget.send_json(
            {
                "type": "message",
                "text": "how long does shipping to Germany take?",
                "client_id": "c1",
            }
        )
        answer = (await receive(widget, "message", message__sender="bot"))["message"]
        assert "Germany" in answer["text"]
        citation = answer["citations"][0]
        article = await http.get(f"{server}{citation['url']}")
        assert article.status == 200 and citation["title"] in await article.text()

        # ... then wants a refund: ticket in billing, told a person is coming and the wait
        await widget.send_json(
            {"type": "message", "text": "I was charged twice, I want a refund", "client_id": "c2"}
        )
        handoff = (await receive(widget, "message", message__sender="bot"))["message"]["text"]
        assert "billing" in handoff and re.search(r"about \d+ minutes?", handoff)

        # 3. the agent logs in, sees the ticket with transcript, intent and entities, takes it
        csrf = await log_in(http, server, "ada")
        headers = {"X-CSRF-Token": csrf}
        console = await http.ws_connect(f"{ws_url}/ws/console")
        tickets = (await (await http.get(f"{server}/api/console/tickets?view=queue")).json())[
            "tickets"
        ]
        assert [(t["queue"], t["intent"]) for t in tickets] == [("billing", tickets[0]["intent"])]
        ticket_id = tickets[0]["id"]
        detail = await (await http.get(f"{server}/api/console/tickets/{ticket_id}")).json()
        texts = [m["text"] for m in detail["messages"]]
        assert "how long does shipping to Germany take?" in texts
        shipping = next(m for m in detail["messages"] if m["text"].startswith("how long"))
        assert shipping["nlu"]["intent"] == "shipping_info"
        assert {"entity": "country", "value": "Germany"} in shipping["nlu"]["entities"]
        taken = await http.post(f"{server}/api/console/tickets/{ticket_id}/take", headers=headers)
        assert (await taken.json())["ticket"]["assignee"]["username"] == "ada"
        await receive(widget, "status", status="with_agent")

        # ... and they chat live, both ways, without reloading
        await http.post(
            f"{server}/api/console/tickets/{ticket_id}/messages",
            json={"text": "Hi, I'm Ada. Let me check."},
            headers=headers,
        )
        live = await receive(widget, "message", message__sender="agent")
        assert live["message"]["text"] == "Hi, I'm Ada. Let me check."
        await widget.send_json(
            {"type": "message", "text": "thanks, it was order AF-123456", "client_id": "c3"}
        )
        relayed = await receive(console, "message", ticket_id=ticket_id, message__sender="customer")
        assert relayed["message"]["text"] == "thanks, it was order AF-123456"
        assert {"entity": "order_number", "value": "AF-123456"} in relayed["message"]["nlu"][
            "entities"
        ]

        # ... and resolve it; 4. the customer is asked to rate and answers
        resolved = await http.post(
            f"{server}/api/console/tickets/{ticket_id}/resolve", headers=headers
        )
        assert (await resolved.json())["ticket"]["status"] == "resolved"
        await receive(widget, "csat_request")
        await widget.send_json({"type": "rating", "rating": 4})
        await receive(widget, "rating_saved")
        await widget.close()
        await console.close()

    # 5. the supervisor (and no agent) reads the report
    assert (await http.get(f"{server}/reports")).status == 403
    http.cookie_jar.clear()
    await log_in(http, server, "sam")
    report = await (await http.get(f"{server}/reports")).text()
    csat_card = re.search(r'data-testid="report-csat".*?(\d+)%', report, re.DOTALL)
    assert csat_card is not None and csat_card.group(1) == "100"
    assert "<svg" in report

    # the CLI reads the same database
    listed = json.loads(helpline_server.cli("tickets", "list", "--json"))["tickets"]
    assert [(t["id"], t["status"], t["queue"]) for t in listed] == [
        (ticket_id, "resolved", "billing")
    ]
    exported = json.loads(helpline_server.cli("report", "--since", "7d", "--format", "json"))
    assert exported["summary"]["csat"] == 100.0 and exported["summary"]["tickets_handled"] == 1
    assert [(q["name"], q["tickets_handled"]) for q in exported["queues"]] == [("billing", 1)]
    page = helpline_server.cli("report", "--since", "7d", "--format", "html")
    assert "<svg" in page and "100%" in page
    assert "src=" not in page and "href=" not in page  # self-contained: nothing fetched
    rows = helpline_server.cli("report", "--since", "all", "--format", "csv").splitlines()
    assert rows[0].startswith("conversation_id,") and len(rows) == 2
