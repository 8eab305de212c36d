"""The console's ticket edits: internal notes, transfer, priority and tags (thin handlers over
the actions, each behind the same access check as every console call)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.errors import InvalidInput, NotFound
from actions.ticket_edits import add_internal_note, add_tag, set_priority, transfer_ticket
from bot.engine import validate_text
from bot.views import message_json, ticket_json
from bot.web import keys
from bot.web.console import my_ticket
from bot.web.inputs import json_object
from storage.models import Ticket, User

routes = web.RouteTableDef()
FieldAction = Callable[[AsyncSession, Ticket, str, User], Awaitable[None]]


@routes.post("/api/console/tickets/{ticket_id}/notes")
async def note(request: web.Request) -> web.Response:
    text = validate_text((await json_object(request)).get("text"))
    async with request.app[keys.COMPONENTS].engine.unit_of_work() as session:
        me, ticket = await my_ticket(session, request)
        message = await add_internal_note(session, ticket, me, text)
        data = message_json(message, with_nlu=True)
    return web.json_response({"message": data}, status=201)


@routes.post("/api/console/tickets/{ticket_id}/transfer")
async def transfer(request: web.Request) -> web.Response:
    body = await json_object(request)
    queue, agent_name, reason = body.get("queue"), body.get("agent"), body.get("note")
    for name, value in (("queue", queue), ("agent", agent_name), ("note", reason)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"`{name}` must be a string")
    async with request.app[keys.COMPONENTS].engine.unit_of_work() as session:
        me, ticket = await my_ticket(session, request)
        agent = None
        if agent_name:
            agent = await session.scalar(select(User).where(User.username == agent_name))
            if agent is None:
                raise NotFound(f"no agent is called {agent_name[:64]!r}")
        await transfer_ticket(
            session, ticket, me, to_agent=agent, to_queue=queue or None, note=reason
        )
        data = ticket_json(ticket)
    return web.json_response({"ticket": data})


@routes.post("/api/console/tickets/{ticket_id}/priority")
async def priority(request: web.Request) -> web.Response:
    return await _set_field(request, "priority", set_priority)


@routes.post("/api/console/tickets/{ticket_id}/tags")
async def tag(request: web.Request) -> web.Response:
    return await _set_field(request, "tag", add_tag)


async def _set_field(request: web.Request, field: str, action: FieldAction) -> web.Response:
    """A ticket edit that takes one string from the body: `{field: "value"}`."""
    value = (await json_object(request)).get(field)
    if not isinstance(value, str):
        raise InvalidInput(f"`{field}` must be a string")
    async with request.app[keys.COMPONENTS].engine.unit_of_work() as session:
        me, ticket = await my_ticket(session, request)
        await action(session, ticket, value, me)
        data = ticket_json(ticket)
    return web.json_response({"ticket": data})
