"""Typed keys of what the application and each request carry."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.components import Components
    from bot.web.ratelimit import RateLimiter
    from bot.web.throttle import LoginThrottle
    from storage.models import User

COMPONENTS: web.AppKey[Components] = web.AppKey("components")
LOGIN_THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("login_throttle")
# Customer messages per sender (REST) or visitor (widget): a flood gets 429, not the engine.
MESSAGE_LIMIT: web.AppKey[RateLimiter] = web.AppKey("message_limit")
# Open WebSockets, closed with "going away" when the server shuts down.
SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("sockets")
USER: web.RequestKey[User] = web.RequestKey("user")
CSRF_TOKEN: web.RequestKey[str] = web.RequestKey("csrf_token")
