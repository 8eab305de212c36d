"""The widget's script: a customer's page embeds it with one tag, so /static/widget.js is served
as the shared helpers (static/common.js) followed by the widget (static/widget.js). Both files
are read when the app is built; no build step makes the bundle."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent.parent / "static"
PATH = "/static/widget.js"
PARTS = ("common.js", "widget.js")


def widget_script_route(static: Path = STATIC) -> web.RouteDef:
    """GET (and HEAD) PATH: the bundle, with an ETag so browsers revalidate it cheaply."""
    body = b"\n".join((static / name).read_bytes() for name in PARTS)
    etag = hashlib.sha256(body).hexdigest()[:32]

    async def widget_script(request: web.Request) -> web.Response:
        if any(tag.value == etag for tag in request.if_none_match or ()):
            response = web.Response(status=304)
        else:
            response = web.Response(body=body, content_type="text/javascript", charset="utf-8")
        response.etag = etag
        return response

    return web.get(PATH, widget_script)
