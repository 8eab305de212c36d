"""Rasa's REST channel contract (`/webhooks/rest/webhook`) and `/model/parse`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from actions.errors import InvalidInput, RateLimited
from bot.engine import InboundMessage, Turn, validate_text
from bot.web import keys
from bot.web.inputs import json_object
from nlu.batcher import parse_batched

routes = web.RouteTableDef()
MAX_SENDER = 255


@routes.post("/webhooks/rest/webhook")
async def webhook(request: web.Request) -> web.Response:
    body = await json_object(request)
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER:
        raise InvalidInput(
            f"`sender` must be a non-empty string of at most {MAX_SENDER} characters"
        )
    message_id = body.get("message_id")
    if message_id is not None and not isinstance(message_id, str | int):
        raise InvalidInput("`message_id`, when given, must be a string or a number")
    wait = await request.app[keys.MESSAGE_LIMIT].hit(f"rest:{sender}")
    if wait is not None:
        raise RateLimited(f"too many messages from this sender; try again in {wait} s", wait)
    inbound = InboundMessage(
        channel="rest",
        sender=sender,
        text=validate_text(body.get("message")),
        external_id=str(message_id) if message_id is not None else None,
    )
    turn = await request.app[keys.COMPONENTS].engine.handle(inbound)
    return web.json_response(rest_replies(sender, turn))


def rest_replies(recipient: str, turn: Turn) -> list[dict[str, Any]]:
    replies = []
    for message in turn.replies:
        extras = message.extras or {}
        item: dict[str, Any] = {"recipient_id": recipient, "text": message.text}
        if extras.get("buttons"):
            item["buttons"] = extras["buttons"]
        if extras.get("citations"):
            item["citations"] = extras["citations"]
        for key in ("custom", "image", "attachment"):  # from an action server's responses
            if extras.get(key):
                item[key] = extras[key]
        replies.append(item)
    return replies


@routes.post("/model/parse")
async def model_parse(request: web.Request) -> web.Response:
    body = await json_object(request)
    text = validate_text(body.get("text"))
    components = request.app[keys.COMPONENTS]
    parse, _ = await parse_batched(components.nlu, text, components.engine.encoder)
    return web.json_response(parse.as_rasa())
