"""Canned responses in the console: every staff member lists them; supervisors and admins
create, change and delete them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from actions.canned import CannedInput, delete_canned, list_canned, save_canned
from actions.record import Actor
from bot.views import iso
from bot.web import keys
from bot.web.auth import REPORT_ROLES
from bot.web.inputs import json_object, path_id
from bot.web.staff import staff
from storage.models import CannedResponse

routes = web.RouteTableDef()


def canned_json(canned: CannedResponse) -> dict[str, Any]:
    return {
        "id": canned.id,
        "shortcut": canned.shortcut,
        "title": canned.title,
        "text": canned.text,
        "updated_at": iso(canned.updated_at),
    }


@routes.get("/api/console/canned")
async def index(request: web.Request) -> web.Response:
    async with request.app[keys.COMPONENTS].db.session() as session:
        me = (await staff(session, request)).user
        found = await list_canned(session)
        return web.json_response(
            {"canned": [canned_json(c) for c in found], "can_edit": me.role in REPORT_ROLES}
        )


@routes.post("/api/console/canned")
async def create(request: web.Request) -> web.Response:
    return await _save(request, None)


@routes.put("/api/console/canned/{canned_id}")
async def update(request: web.Request) -> web.Response:
    return await _save(request, path_id(request, "canned_id"))


@routes.delete("/api/console/canned/{canned_id}")
async def delete(request: web.Request) -> web.Response:
    canned_id = path_id(request, "canned_id")
    async with request.app[keys.COMPONENTS].engine.unit_of_work() as session:
        me = (await staff(session, request, REPORT_ROLES)).user
        await delete_canned(session, Actor("agent", me.id), canned_id)
    return web.json_response({"deleted": canned_id})


async def _save(request: web.Request, canned_id: int | None) -> web.Response:
    body = await json_object(request)
    data = CannedInput(body.get("shortcut"), body.get("title"), body.get("text"))
    async with request.app[keys.COMPONENTS].engine.unit_of_work() as session:
        me = (await staff(session, request, REPORT_ROLES)).user
        canned = await save_canned(session, Actor("agent", me.id), data, canned_id)
        result = canned_json(canned)
    return web.json_response({"canned": result}, status=201 if canned_id is None else 200)
