"""The console's live WebSocket: ticket and message updates out; who is viewing or typing on a
ticket in both directions (to other agents, and "typing" to the customer)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from actions.errors import NotFound
from actions.tickets import get_ticket
from bot.live import CONSOLE, Hub, conversation_topic, ticket_scope
from bot.web import keys
from bot.web.auth import can_see_ticket
from bot.web.origin import check_origin
from bot.web.sockets import relay
from bot.web.staff import staff
from storage.database import Database
from storage.models import User

routes = web.RouteTableDef()
ACTIVITIES = ("viewing", "typing")


@routes.get("/ws/console")
async def console_socket(request: web.Request) -> web.WebSocketResponse:
    components = request.app[keys.COMPONENTS]
    check_origin(request)
    async with components.db.session() as session:
        me = (await staff(session, request)).user
    socket = web.WebSocketResponse(heartbeat=30)
    await socket.prepare(request)
    request.app[keys.SOCKETS].add(socket)
    async with components.hub.subscribe(CONSOLE) as updates:

        async def on_text(raw: str) -> None:
            await _activity(components.db, components.hub, me, raw)

        await relay(socket, on_text, _forward(socket, updates, me))
    return socket


async def _activity(db: Database, hub: Hub, me: User, raw: str) -> None:
    """`{"type": "viewing" | "typing", "ticket_id": N}` from an agent; anything else is ignored."""
    try:
        data = json.loads(raw)
    except ValueError:
        return
    if not isinstance(data, dict) or data.get("type") not in ACTIVITIES:
        return
    ticket_id = data.get("ticket_id")
    if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
        return
    async with db.session() as session:
        try:
            ticket = await get_ticket(session, ticket_id)
        except NotFound:
            return
        if not can_see_ticket(me, ticket.queue_id, ticket.assignee_id):
            return
        scope = ticket_scope(ticket)
    activity = {
        "ticket_id": ticket_id,
        "who": "agent",
        "user_id": me.id,
        "name": me.display_name,
        "activity": data["type"],
    }
    hub.publish(CONSOLE, {"kind": "activity", "scope": scope, "data": activity})
    if data["type"] == "typing":
        typing = {"kind": "typing", "sender": "agent", "name": me.display_name}
        hub.publish(conversation_topic(ticket.conversation_id), typing)


async def _forward(socket: web.WebSocketResponse, updates: asyncio.Queue[Any], me: User) -> None:
    while True:
        update = await updates.get()
        scope = update["scope"]
        if not can_see_ticket(me, scope["queue_id"], scope["assignee_id"]):
            continue
        if update["kind"] == "ticket":
            await socket.send_json({"type": "ticket", "ticket": update["data"]})
        elif update["kind"] == "activity":
            if update["data"].get("user_id") != me.id:
                await socket.send_json({"type": "activity", **update["data"]})
        else:
            await socket.send_json(
                {"type": "message", "ticket_id": scope["id"], "message": update["data"]}
            )
