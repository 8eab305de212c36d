"""The agent console: the page and its JSON API (take, reply, resolve); live updates are in
console_live."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import get_conversation, transcript
from actions.errors import Forbidden, InvalidInput
from actions.tickets import agent_reply, get_ticket, resolve_ticket, take_ticket
from actions.users import set_agent_status
from bot.engine import validate_text
from bot.views import message_json, ticket_json
from bot.web import keys
from bot.web.auth import access_ticket, can_see_ticket
from bot.web.inputs import json_object, path_id
from bot.web.render import render
from bot.web.staff import staff
from knowledge_base.answer import suggest_replies
from nlu.parse import is_trigger
from storage.models import Ticket, User

routes = web.RouteTableDef()
VIEWS = ("mine", "queue", "unassigned", "all")
PRESENCE = ("online", "away", "offline")


@routes.get("/console")
async def console_page(request: web.Request) -> web.Response:
    components = request.app[keys.COMPONENTS]
    async with components.db.session() as session:
        await staff(session, request)
    queue_names = [q.name for q in components.settings.queues]
    return render(request, "console.html", {"queue_names": queue_names})


@routes.post("/api/console/me/status")
async def my_status(request: web.Request) -> web.Response:
    """Presence: online takes new tickets, away keeps its own but takes none, offline hands back
    the unanswered ones (where the queue says so)."""
    status = (await json_object(request)).get("status")
    if status not in PRESENCE:
        raise InvalidInput(f"status must be one of {', '.join(PRESENCE)}")
    async with request.app[keys.COMPONENTS].engine.unit_of_work() as session:
        me = (await staff(session, request)).user
        assigned = await set_agent_status(session, me, status)
    return web.json_response({"status": status, "assigned": [t.id for t in assigned]})


@routes.get("/api/console/tickets")
async def list_tickets(request: web.Request) -> web.Response:
    view = request.query.get("view", "queue")
    if view not in VIEWS:
        raise InvalidInput(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    async with request.app[keys.COMPONENTS].db.session() as session:
        me = (await staff(session, request)).user
        query = select(Ticket).order_by(Ticket.id.desc()).limit(200)
        if view == "mine":
            query = query.where(Ticket.assignee_id == me.id)
        elif view == "unassigned":
            query = query.where(Ticket.assignee_id.is_(None), Ticket.status.in_(("new", "open")))
        elif view == "queue":
            query = query.where(Ticket.queue_id.in_([q.id for q in me.queues]))
        tickets = [
            t for t in await session.scalars(query) if can_see_ticket(me, t.queue_id, t.assignee_id)
        ]
        return web.json_response({"tickets": [ticket_json(t) for t in tickets]})


@routes.get("/api/console/tickets/{ticket_id}")
async def show_ticket(request: web.Request) -> web.Response:
    async with request.app[keys.COMPONENTS].db.session() as session:
        _, ticket = await my_ticket(session, request)
        messages = await transcript(session, ticket.conversation_id, with_notes=True)
        return web.json_response(
            {
                "ticket": ticket_json(ticket),
                "messages": [message_json(m, with_nlu=True) for m in messages],
            }
        )


@routes.get("/api/console/conversations/{conversation_id}")
async def show_conversation(request: web.Request) -> web.Response:
    async with request.app[keys.COMPONENTS].db.session() as session:
        me = (await staff(session, request)).user
        conversation = await get_conversation(session, path_id(request, "conversation_id"))
        tickets = list(
            await session.scalars(select(Ticket).where(Ticket.conversation_id == conversation.id))
        )
        visible = [t for t in tickets if can_see_ticket(me, t.queue_id, t.assignee_id)]
        if me.role == "agent" and not visible:
            raise Forbidden("this conversation is not in one of your queues")
        messages = await transcript(session, conversation.id, with_notes=True)
        return web.json_response(
            {
                "conversation": {
                    "id": conversation.id,
                    "status": conversation.status,
                    "channel": conversation.channel,
                },
                "tickets": [ticket_json(t) for t in visible],
                "messages": [message_json(m, with_nlu=True) for m in messages],
            }
        )


@routes.post("/api/console/tickets/{ticket_id}/take")
async def take(request: web.Request) -> web.Response:
    engine = request.app[keys.COMPONENTS].engine
    async with engine.unit_of_work() as session:
        me, ticket = await my_ticket(session, request)
        await take_ticket(session, ticket, me)
        data = ticket_json(ticket)
    return web.json_response({"ticket": data})


@routes.post("/api/console/tickets/{ticket_id}/messages")
async def reply(request: web.Request) -> web.Response:
    body = await json_object(request)
    text = validate_text(body.get("text"))
    engine = request.app[keys.COMPONENTS].engine
    async with engine.unit_of_work() as session:
        me, ticket = await my_ticket(session, request)
        message = await agent_reply(session, ticket, me, text)
        data = message_json(message, with_nlu=True)
    return web.json_response({"message": data}, status=201)


@routes.post("/api/console/tickets/{ticket_id}/resolve")
async def resolve(request: web.Request) -> web.Response:
    engine = request.app[keys.COMPONENTS].engine
    async with engine.unit_of_work() as session:
        me, ticket = await my_ticket(session, request)
        await resolve_ticket(session, ticket, me)
        await engine.ask_for_rating(session, ticket.conversation_id)
        data = ticket_json(ticket)
    return web.json_response({"ticket": data})


@routes.get("/api/console/tickets/{ticket_id}/suggestions")
async def suggestions(request: web.Request) -> web.Response:
    """Replies drafted from the knowledge base for the customer's latest message."""
    components = request.app[keys.COMPONENTS]
    async with components.db.session() as session:
        _, ticket = await my_ticket(session, request)
        messages = await transcript(session, ticket.conversation_id)
    written = [m.text for m in messages if m.sender == "customer" and not is_trigger(m.text)]
    asked = written[-1] if written else ""  # buttons (/intent triggers) say nothing to search
    drafts = await asyncio.to_thread(suggest_replies, asked, components.kb) if asked else []
    return web.json_response(
        {
            "query": asked,
            "suggestions": [
                {
                    "text": d.text,
                    "title": d.citations[0].title,
                    "url": d.citations[0].url,
                    "confidence": d.confidence,
                }
                for d in drafts
            ],
        }
    )


async def my_ticket(session: AsyncSession, request: web.Request) -> tuple[User, Ticket]:
    """The logged-in staff member and the ticket of the path, if they may see it."""
    me = (await staff(session, request)).user
    return me, access_ticket(me, await get_ticket(session, path_id(request, "ticket_id")))
