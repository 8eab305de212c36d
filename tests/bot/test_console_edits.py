"""Notes, transfer, priority and tags from the console; notes never reach the customer."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientWebSocketResponse

from bot.components import Components
from bot.jobs import tick
from tests.bot.conftest import Client, login


async def frames_until(socket: ClientWebSocketResponse, kind: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def wait() -> None:
        while not seen or seen[-1]["type"] != kind:
            seen.append(await socket.receive_json())

    await asyncio.wait_for(wait(), 10)
    return seen


async def test_console_edits_and_private_notes(client: Client, users: dict[str, int]) -> None:
    widget = await client.ws_connect("/ws/widget")
    await widget.send_json({"type": "hello", "token": None})
    await frames_until(widget, "welcome")
    await widget.send_json(
        {"type": "message", "text": "I was charged twice, I want a refund", "client_id": "n"}
    )
    await frames_until(widget, "ack")
    headers = {"X-CSRF-Token": await login(client, "ada")}
    ticket_id = (await (await client.get("/api/console/tickets?view=mine")).json())["tickets"][0][
        "id"
    ]
    base = f"/api/console/tickets/{ticket_id}"

    noted = await client.post(f"{base}/notes", json={"text": "customer is a VIP"}, headers=headers)
    assert noted.status == 201 and (await noted.json())["message"]["sender"] == "note"
    await client.post(f"{base}/messages", json={"text": "Looking into it"}, headers=headers)
    frames = await frames_until(widget, "message")
    while frames[-1]["message"]["sender"] != "agent":
        frames += await frames_until(widget, "message")
    texts = [f["message"]["text"] for f in frames if f["type"] == "message"]
    assert "customer is a VIP" not in texts and "Looking into it" in texts
    detail = await (await client.get(base)).json()
    assert "customer is a VIP" in [m["text"] for m in detail["messages"]]

    raised = await client.post(f"{base}/priority", json={"priority": "urgent"}, headers=headers)
    assert (await raised.json())["ticket"]["priority"] == "urgent"
    tagged = await client.post(f"{base}/tags", json={"tag": "double-charge"}, headers=headers)
    assert "double-charge" in (await tagged.json())["ticket"]["tags"]
    moved = await client.post(
        f"{base}/transfer", json={"queue": "orders", "note": "not billing"}, headers=headers
    )
    assert (await moved.json())["ticket"]["queue"] == "orders"

    for path, body, status in [
        ("priority", {"priority": "whenever"}, 400),
        ("priority", {"priority": 3}, 400),
        ("tags", {}, 400),
        ("transfer", {}, 400),
        ("transfer", {"agent": "nobody"}, 404),
        ("notes", {"text": ""}, 400),
    ]:
        response = await client.post(f"{base}/{path}", json=body, headers=headers)
        assert response.status in (status, 403), (path, body, response.status)
    await widget.close()


async def test_the_periodic_tick_assigns_waiting_tickets(
    client: Client, components: Components, users: dict[str, int]
) -> None:
    from sqlalchemy import update  # noqa: PLC0415

    from storage.models import User  # noqa: PLC0415

    await client.post(
        "/webhooks/rest/webhook",
        json={"sender": "t", "message": "I was charged twice, I want a refund"},
    )
    async with components.db.session() as session, session.begin():
        await session.execute(update(User).where(User.username == "ada").values(status="online"))
    done = await tick(components.engine)
    assert done.assigned == 1
    assert (await tick(components.engine)).assigned == 0


async def test_suggested_replies_come_from_the_knowledge_base(
    client: Client, users: dict[str, int]
) -> None:
    for text in ("how long does shipping to Germany take?", "/human_handoff"):
        await client.post("/webhooks/rest/webhook", json={"sender": "s", "message": text})
    await login(client, "sam")
    ticket_id = (await (await client.get("/api/console/tickets?view=all")).json())["tickets"][0][
        "id"
    ]
    body = await (await client.get(f"/api/console/tickets/{ticket_id}/suggestions")).json()
    assert body["query"] == "how long does shipping to Germany take?"
    first = body["suggestions"][0]
    assert (first["title"], first["url"]) == (
        "Shipping times and costs",
        "/kb/shipping-times-and-costs",
    )
    assert "Germany" in first["text"]
    assert len({s["url"] for s in body["suggestions"]}) == len(
        body["suggestions"]
    )  # one per article
    client.session.cookie_jar.clear()
    await login(client, "ada")  # billing and general: the ticket went to orders
    assert (await client.get(f"/api/console/tickets/{ticket_id}/suggestions")).status == 403


async def test_presence_from_the_console(
    client: Client, components: Components, users: dict[str, int]
) -> None:
    await client.post(
        "/webhooks/rest/webhook",
        json={"sender": "p", "message": "I was charged twice, I want a refund"},
    )
    headers = {"X-CSRF-Token": await login(client, "ada")}  # logging in sets her online
    assigned = (await (await client.get("/api/console/tickets?view=mine")).json())["tickets"]
    assert len(assigned) == 1
    away = await client.post("/api/console/me/status", json={"status": "away"}, headers=headers)
    assert (await away.json())["status"] == "away"
    await client.post(
        "/webhooks/rest/webhook",
        json={"sender": "q", "message": "I was charged twice, I want a refund"},
    )
    assert len((await (await client.get("/api/console/tickets?view=mine")).json())["tickets"]) == 1
    back = await (
        await client.post("/api/console/me/status", json={"status": "online"}, headers=headers)
    ).json()
    assert len(back["assigned"]) == 1  # the ticket that waited while she was away
    bad = await client.post("/api/console/me/status", json={"status": "asleep"}, headers=headers)
    assert bad.status == 400
    page = await (await client.get("/console")).text()
    assert 'data-testid="presence-select"' in page and '<option value="billing">' in page
