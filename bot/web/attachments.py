"""Files in conversations: the widget's upload (a customer message with a file, authenticated by
the visitor's signed token) and serving a file to the visitor who sent it or to staff who may
see the conversation's ticket."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, MultipartReader, hdrs, web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.attachments import IMAGE_TYPES, get_attachment, receive_file, too_large
from actions.errors import Forbidden, InvalidInput
from bot.channels.widget import (
    CHANNEL,
    admit_message,
    sign_attachment,
    verify_token,
    with_visitor_keys,
)
from bot.engine import InboundMessage
from bot.views import message_json
from bot.web import keys
from bot.web.auth import Unauthenticated, can_see_ticket
from bot.web.client_address import client_address
from bot.web.inputs import path_id
from bot.web.origin import check_origin
from bot.web.staff import staff
from storage.models import Attachment, ChannelIdentity, Conversation, Message, Ticket

routes = web.RouteTableDef()
UPLOAD_PATH = "/api/widget/attachments"
FORM_OVERHEAD = 64 * 1024  # the form fields and part headers around the file itself
CHUNK = 64 * 1024
MAX_FIELD = 128  # a token, a client id (as the widget's socket allows) or a conversation id
# Served files never run as a page: no scripts, no plug-ins, no requests of their own.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@routes.post(UPLOAD_PATH)
async def upload(request: web.Request) -> web.Response:
    """multipart/form-data with `token`, optionally `client_id` and `conversation_id`, then
    `file` (the fields come first, as the file is read as it streams in). The file becomes a
    customer message in the visitor's conversation: 201 with the stored message and the bot's
    replies, as the widget's socket would acknowledge a text."""
    components = request.app[keys.COMPONENTS]
    check_origin(request, components.settings.channels.widget.allowed_origins)
    max_bytes = components.settings.attachments.max_bytes
    if (request.content_length or 0) > max_bytes + FORM_OVERHEAD:
        raise too_large(request.content_length, max_bytes)
    reader = await _multipart(request)
    fields, part = await _fields_then_file(reader)
    visitor = verify_token(components.secret, fields.get("token"))
    if visitor is None:
        raise Unauthenticated("a valid widget token is needed to send files")
    limiter = request.app[keys.MESSAGE_LIMIT]
    await admit_message(components, limiter, visitor, client_address(request))
    if "conversation_id" in fields:
        await _check_owner(request, visitor, fields["conversation_id"])
    received = await receive_file(
        components.engine.files,
        _chunks(part),
        part.filename,
        part.headers.get(hdrs.CONTENT_TYPE),
        max_bytes,
    )
    inbound = InboundMessage(
        CHANNEL, visitor, "", external_id=fields.get("client_id") or None, attachments=(received,)
    )
    turn = await components.engine.handle(inbound)

    def seen(message: Message) -> dict[str, Any]:
        return with_visitor_keys(components.secret, visitor, message_json(message, with_nlu=False))

    body = {"message": seen(turn.message), "replies": [seen(r) for r in turn.replies]}
    return web.json_response(body, status=201)


@routes.get("/attachments/{attachment_id}")
async def serve(request: web.Request) -> web.FileResponse:
    """The file, to the visitor whose conversation it is in (a `key` the widget was given) or
    to staff who may see one of the conversation's tickets."""
    components = request.app[keys.COMPONENTS]
    async with components.db.session() as session:
        attachment = await get_attachment(session, path_id(request, "attachment_id"))
        key = request.query.get("key")
        if key is not None:
            await _check_visitor_key(session, components.secret, attachment, key)
        else:
            await _check_staff(session, request, attachment)
    path = components.engine.files.path(attachment.storage_key)
    return web.FileResponse(path, headers=_file_headers(attachment))


def _file_headers(attachment: Attachment) -> dict[str, str]:
    disposition = "inline" if attachment.content_type in IMAGE_TYPES else "attachment"
    return {
        hdrs.CONTENT_TYPE: attachment.content_type,
        hdrs.CONTENT_DISPOSITION: f"{disposition}; filename*=UTF-8''{quote(attachment.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        hdrs.CACHE_CONTROL: "private, max-age=3600",
    }


async def _check_visitor_key(
    session: AsyncSession, secret: bytes, attachment: Attachment, key: str
) -> None:
    visitor = await _visitor_of(session, attachment.conversation_id)
    expected = sign_attachment(secret, visitor, attachment.id) if visitor else ""
    if not visitor or not hmac.compare_digest(key.encode(), expected.encode()):
        raise Forbidden("this link is not valid for this file")


async def _visitor_of(session: AsyncSession, conversation_id: int) -> str | None:
    """The widget visitor whose conversation this is (None: not a widget conversation)."""
    visitor: str | None = await session.scalar(
        select(ChannelIdentity.external_user_id)
        .join(Conversation, Conversation.customer_id == ChannelIdentity.customer_id)
        .where(Conversation.id == conversation_id)
        .where(Conversation.channel == CHANNEL, ChannelIdentity.channel == CHANNEL)
    )
    return visitor


async def _check_staff(session: AsyncSession, request: web.Request, attachment: Attachment) -> None:
    """The console's rule for a conversation: visible when one of its tickets is (supervisors
    and admins see every conversation)."""
    me = (await staff(session, request)).user
    if me.role != "agent":
        return
    tickets = await session.scalars(
        select(Ticket).where(Ticket.conversation_id == attachment.conversation_id)
    )
    if not any(can_see_ticket(me, t.queue_id, t.assignee_id) for t in tickets):
        raise Forbidden("this file is not in a conversation of your queues")


async def _check_owner(request: web.Request, visitor: str, raw: str) -> None:
    """A conversation named in the form must be one of this visitor's."""
    if not raw.isdigit():
        raise InvalidInput("`conversation_id` must be a number")
    async with request.app[keys.COMPONENTS].db.session() as session:
        owner = await _visitor_of(session, int(raw))
    if owner != visitor:
        raise Forbidden("this conversation is not yours")


async def _multipart(request: web.Request) -> MultipartReader:
    if not request.content_type.startswith("multipart/form-data"):
        raise InvalidInput("send the file as multipart/form-data")
    try:
        return await request.multipart()
    except (AssertionError, ValueError) as exc:  # aiohttp asserts on a broken boundary
        raise InvalidInput("the multipart body cannot be read") from exc


async def _fields_then_file(reader: MultipartReader) -> tuple[dict[str, str], BodyPartReader]:
    fields: dict[str, str] = {}
    while True:
        part = await reader.next()
        if part is None:
            raise InvalidInput("the form has no `file` part")
        if not isinstance(part, BodyPartReader):
            raise InvalidInput("nested multipart bodies are not accepted")
        if part.name == "file":
            return fields, part
        if part.name in ("token", "client_id", "conversation_id"):
            value = await part.read_chunk(MAX_FIELD + 1)
            if len(value) > MAX_FIELD:
                raise InvalidInput(f"`{part.name}` is longer than {MAX_FIELD} bytes")
            fields[part.name] = value.decode("utf-8", "replace").strip()
        else:
            await part.release()


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


async def allow_origin(request: web.Request, response: web.StreamResponse) -> None:
    """Let a page that may embed the widget read the upload's answer, errors included (so it
    can say what was wrong); a foreign Origin was refused before anything was done."""
    origin = request.headers.get(hdrs.ORIGIN)
    if request.path != UPLOAD_PATH or not origin:
        return
    try:
        check_origin(request, request.app[keys.COMPONENTS].settings.channels.widget.allowed_origins)
    except Forbidden:
        return
    response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
    response.headers[hdrs.VARY] = hdrs.ORIGIN
