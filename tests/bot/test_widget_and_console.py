"""The widget's WebSocket and the console's API, together, on the real app."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientWebSocketResponse
from sqlalchemy import func, select

from bot.components import Components
from storage.models import CsatResponse, Message
from tests.bot.conftest import Client, login


async def _receive(socket: ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next frame of `kind`, skipping others."""

    async def wait() -> dict[str, Any]:
        while True:
            frame = await socket.receive_json()
            if frame["type"] == kind:
                return frame

    return await asyncio.wait_for(wait(), 10)


async def _hello(
    client: Client, token: str | None = None
) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    socket = await client.ws_connect("/ws/widget")
    await socket.send_json({"type": "hello", "token": token})
    return socket, await _receive(socket, "welcome")


async def test_widget_answers_and_resumes_the_conversation_with_its_token(client: Client) -> None:
    socket, welcome = await _hello(client)
    assert welcome["conversation_id"] is None and welcome["messages"] == []
    await socket.send_json(
        {"type": "message", "text": "how long does shipping to Germany take?", "client_id": "a1"}
    )
    ack = await _receive(socket, "ack")
    assert ack["client_id"] == "a1" and ack["message"]["sender"] == "customer"
    reply = await _receive(socket, "message")
    assert reply["message"]["citations"][0]["url"] == "/kb/shipping-times-and-costs"
    assert "nlu" not in reply["message"]  # customers never see the annotations
    await socket.close()

    again, resumed = await _hello(client, welcome["token"])
    assert resumed["conversation_id"] == ack["message"]["conversation_id"]
    assert [m["sender"] for m in resumed["messages"]] == ["customer", "bot"]
    forged, fresh = await _hello(client, welcome["token"][:-2] + "xx")
    assert fresh["conversation_id"] is None and fresh["token"] != welcome["token"]
    await again.close()
    await forged.close()


async def test_widget_resent_message_is_stored_once(client: Client, components: Components) -> None:
    socket, _ = await _hello(client)
    for _ in range(2):
        await socket.send_json({"type": "message", "text": "hi", "client_id": "same"})
        await _receive(socket, "ack")
    async with components.db.session() as session:
        customer = await session.scalar(
            select(func.count()).select_from(Message).where(Message.sender == "customer")
        )
    assert customer == 1
    await socket.close()


async def test_widget_bad_frames_get_errors_and_the_socket_stays_usable(
    client: Client, components: Components
) -> None:
    socket = await client.ws_connect("/ws/widget")
    await socket.send_json({"type": "message", "text": "hi"})
    assert "hello" in (await _receive(socket, "error"))["message"]
    await socket.send_str("{nope")
    assert "JSON" in (await _receive(socket, "error"))["message"]
    await socket.send_json({"type": "hello", "token": None})
    await _receive(socket, "welcome")
    for frame, expected in [
        ({"type": "message", "text": "", "client_id": "e1"}, "empty"),
        ({"type": "message", "text": "x" * 100_000, "client_id": "e2"}, "at most"),
        ({"type": "message", "text": 5, "client_id": "e3"}, "string"),
        ({"type": "dance"}, "unknown frame type"),
        ({"type": "rating", "rating": 5}, "no conversation"),
    ]:
        await socket.send_json(frame)
        error = await _receive(socket, "error")
        assert expected in error["message"], (frame, error)
        assert error["client_id"] == frame.get("client_id")
    async with components.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
    await socket.close()


async def test_handoff_take_reply_resolve_and_rate(
    client: Client, components: Components, users: dict[str, int]
) -> None:
    socket, _ = await _hello(client)
    await socket.send_json(
        {"type": "message", "text": "I was charged twice, I want a refund", "client_id": "h1"}
    )
    kinds = []
    while "ack" not in kinds:
        kinds.append((await socket.receive_json())["type"])
    assert "message" not in kinds  # the customer's own message is confirmed before any reply
    reply = await _receive(socket, "message")
    assert "billing" in reply["message"]["text"]

    csrf = await login(client, "ada")
    headers = {"X-CSRF-Token": csrf}
    tickets = (await (await client.get("/api/console/tickets?view=queue")).json())["tickets"]
    ticket_id = tickets[0]["id"]
    # ada logged in (online) and is the only billing agent: the waiting ticket went to her
    assert tickets[0]["assignee"]["username"] == "ada"
    detail = await (await client.get(f"/api/console/tickets/{ticket_id}")).json()
    first = detail["messages"][0]
    assert first["nlu"]["intent"] in {"billing_issue", "refund_request"}

    posted = await client.post(
        f"/api/console/tickets/{ticket_id}/messages",
        json={"text": "Sorry! Refunding now."},
        headers=headers,
    )
    assert posted.status == 201
    live = await _receive(socket, "message")
    while live["message"]["sender"] != "agent":
        live = await _receive(socket, "message")
    assert live["message"]["text"] == "Sorry! Refunding now."
    assert live["message"]["sender_name"] == "Ada"

    resolved = await client.post(f"/api/console/tickets/{ticket_id}/resolve", headers=headers)
    assert (await resolved.json())["ticket"]["status"] == "resolved"
    await _receive(socket, "csat_request")
    await socket.send_json({"type": "rating", "rating": 7})
    assert "1 to 5" in (await _receive(socket, "error"))["message"]
    await socket.send_json({"type": "rating", "rating": 5, "comment": "quick!"})
    await _receive(socket, "rating_saved")
    async with components.db.session() as session:
        ratings = list(await session.scalars(select(CsatResponse)))
    assert [(r.rating, r.comment) for r in ratings] == [(5, "quick!")]
    await socket.close()


async def test_console_errors_for_unknown_or_malformed_ids(
    client: Client, users: dict[str, int]
) -> None:
    csrf = await login(client, "ada")
    missing = await client.get("/api/console/tickets/999")
    assert missing.status == 404
    assert "999" in (await missing.json())["error"]["message"]
    assert (await client.get("/api/console/conversations/424242")).status == 404
    assert (await client.get("/api/console/tickets/abc")).status == 400
    assert (await client.get("/api/console/tickets?view=everything")).status == 400
    bad = await client.post(
        "/api/console/tickets/999/messages", data=b"{", headers={"X-CSRF-Token": csrf}
    )
    assert bad.status == 400


async def test_agents_only_see_tickets_of_their_queues(
    client: Client, users: dict[str, int]
) -> None:
    first = await client.post(
        "/webhooks/rest/webhook",
        json={"sender": "z", "message": "I was charged twice, I want a refund"},
    )
    assert first.status == 200
    await login(client, "grace")  # orders only
    assert (await (await client.get("/api/console/tickets?view=all")).json())["tickets"] == []
    assert (await client.get("/api/console/tickets/1")).status == 403


async def test_a_second_rating_is_refused_and_kept_in_the_event_log(
    client: Client, components: Components, users: dict[str, int]
) -> None:
    from storage.models import Event  # noqa: PLC0415

    socket, _ = await _hello(client)
    await socket.send_json(
        {"type": "message", "text": "let me talk to a person", "client_id": "r1"}
    )
    await _receive(socket, "message")
    csrf = await login(client, "ada")
    ticket_id = (await (await client.get("/api/console/tickets?view=all")).json())["tickets"][0][
        "id"
    ]
    headers = {"X-CSRF-Token": csrf}
    await client.post(f"/api/console/tickets/{ticket_id}/take", headers=headers)
    await client.post(f"/api/console/tickets/{ticket_id}/resolve", headers=headers)
    await _receive(socket, "csat_request")
    await socket.send_json({"type": "rating", "rating": 2})
    await _receive(socket, "rating_saved")
    await socket.send_json({"type": "rating", "rating": 5})
    assert "already been rated" in (await _receive(socket, "error"))["message"]
    async with components.db.session() as session:
        ratings = list(await session.scalars(select(CsatResponse.rating)))
        rejected = list(await session.scalars(select(Event).where(Event.type == "csat_rejected")))
    assert ratings == [2]
    assert [e.payload["rating"] for e in rejected] == [5]
    await socket.close()
