"""WebSocket upgrades from browsers must come from our own pages (or origins the operator lists)."""

from __future__ import annotations

from aiohttp import web

from actions.errors import Forbidden


def check_origin(request: web.Request, allowed: tuple[str, ...] = ()) -> None:
    """Browsers always send Origin on a WebSocket upgrade; a foreign one is refused (403).
    Clients that are not browsers send none and carry no cookies a foreign page could borrow."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    own = f"{request.scheme}://{request.host}"
    if origin == own or origin in allowed or "*" in allowed:
        return
    raise Forbidden(f"WebSocket connections from {origin[:100]} are not allowed", code="origin")
