"""Who is viewing or typing: agent -> other agents and the customer, customer -> agents."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from tests.bot.conftest import Client, login


async def frame_of(socket: ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            frame = await socket.receive_json()
            if frame["type"] == kind:
                return frame

    return await asyncio.wait_for(wait(), 10)


async def console_as(client: Client, username: str) -> ClientWebSocketResponse:
    client.session.cookie_jar.clear()
    await login(client, username)
    return await client.ws_connect("/ws/console")


async def test_viewing_and_typing_reach_the_right_people(
    client: Client, users: dict[str, int]
) -> None:
    widget = await client.ws_connect("/ws/widget")
    await widget.send_json({"type": "hello", "token": None})
    await frame_of(widget, "welcome")
    await widget.send_json(
        {"type": "message", "text": "I was charged twice, I want a refund", "client_id": "a"}
    )
    await frame_of(widget, "ack")
    sam = await console_as(client, "sam")
    grace = await console_as(client, "grace")  # orders only: must hear nothing about billing
    ada = await console_as(client, "ada")
    ticket_id = (await (await client.get("/api/console/tickets?view=all")).json())["tickets"][0][
        "id"
    ]

    await ada.send_json({"type": "viewing", "ticket_id": ticket_id})
    seen = await frame_of(sam, "activity")
    assert (seen["ticket_id"], seen["name"], seen["activity"]) == (ticket_id, "Ada", "viewing")

    await ada.send_json({"type": "typing", "ticket_id": ticket_id})
    assert (await frame_of(widget, "typing"))["name"] == "Ada"
    assert (await frame_of(sam, "activity"))["activity"] == "typing"

    await widget.send_json({"type": "typing"})
    customer = await frame_of(ada, "activity")
    assert (customer["who"], customer["activity"], customer["ticket_id"]) == (
        "customer",
        "typing",
        ticket_id,
    )

    await ada.send_json({"type": "typing", "ticket_id": 999})  # unknown: ignored
    await ada.send_json({"type": "dance", "ticket_id": ticket_id})  # unknown type: ignored
    await ada.send_str("not json")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(frame_of(grace, "activity"), 0.5)
    for socket in (widget, sam, grace, ada):
        await socket.close()
