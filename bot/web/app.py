"""The aiohttp application: routes, error mapping, templates and static files."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import WSCloseCode, web

from actions.errors import HelplineError, RateLimited
from bot import jobs
from bot.background import every
from bot.components import Components
from bot.web import keys
from bot.web.auth import Unauthenticated
from bot.web.format import duration, percent
from bot.web.render import render
from bot.web.request_ids import request_ids
from storage.database import RETRY_AFTER_S, unavailable

log = logging.getLogger(__name__)
PACKAGE = Path(__file__).resolve().parent.parent
# SLA checks, draining waiting tickets, closing old ones and the report rollups, every few seconds
PERIODIC_WORK = every(
    lambda app: app[keys.COMPONENTS].settings.routing.check_every_seconds,
    lambda app: jobs.tick(app[keys.COMPONENTS].engine),
    "periodic work",
)
JSON_PREFIXES = ("/api/", "/webhooks/", "/model/", "/health")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def wants_json(request: web.Request) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def error_response(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
) -> web.Response:
    if wants_json(request):
        error = {"code": code, "message": message, **(details or {})}
        return web.json_response({"error": error}, status=status)
    if status == 401:
        raise web.HTTPSeeOther(f"/login?next={request.path}")
    return render(request, "error.html", {"status": status, "message": message}, status=status)


@web.middleware
async def measured(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request by its route (never by its raw path: ids stay out)."""
    metrics = request.app[keys.COMPONENTS].engine.metrics
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.requests.labels(request.method, route, str(status)).inc()
        metrics.request_seconds.labels(route).observe(time.perf_counter() - started)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map every application error to one response shape; never echo the request body."""
    try:
        return await handler(request)
    except Unauthenticated as exc:
        return error_response(request, exc.status, exc.code, exc.message)
    except RateLimited as exc:
        response = error_response(request, exc.status, exc.code, exc.message)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except HelplineError as exc:
        return error_response(request, exc.status, exc.code, exc.message, exc.details)
    except web.HTTPException as exc:
        if exc.status >= 400 and wants_json(request):
            return error_response(request, exc.status, "http_error", exc.reason)
        raise
    except Exception as exc:
        return _unexpected(request, exc)


def _unexpected(request: web.Request, exc: Exception) -> web.Response:
    if unavailable(exc):
        # 503 with Retry-After: the sender keeps the message and sends it again (REST clients
        # and Telegram do); nothing of it was stored.
        log.warning("database unavailable on %s %s: %r", request.method, request.path, exc)
        response = error_response(
            request, 503, "unavailable", "the service is briefly unavailable; try again"
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(request, 500, "internal", "something went wrong on our side")


def create_app(components: Components) -> web.Application:
    from bot.channels import rest, widget  # noqa: PLC0415 (routes import the app's keys)
    from bot.web import (  # noqa: PLC0415
        attachments,
        canned,
        console,
        console_edits,
        console_live,
        kb_admin,
        kb_gaps,
        pages,
        reports,
        widget_script,
    )

    middlewares = [request_ids, measured, errors]
    app = web.Application(middlewares=middlewares, client_max_size=1024 * 1024)
    app[keys.COMPONENTS] = components
    app[keys.LOGIN_THROTTLE] = components.limits.logins
    app[keys.MESSAGE_LIMIT] = components.limits.messages
    app[keys.SOCKETS] = weakref.WeakSet()
    app.on_shutdown.append(_close_sockets)
    app.on_response_prepare.append(attachments.allow_origin)
    app.cleanup_ctx.append(_live_updates)
    app.cleanup_ctx.append(PERIODIC_WORK)
    app.cleanup_ctx.append(kb_admin.keep_in_step())
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(PACKAGE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    env.filters["duration"] = duration
    env.filters["percent"] = percent
    app[kb_admin.KB_WRITES] = asyncio.Lock()
    app.router.add_routes(kb_gaps.routes)
    # the KB pages first: /kb/admin and /kb/gaps must win over the article page /kb/{slug}
    routed = (kb_admin, pages, console, console_edits, console_live, canned, reports, rest, widget)
    for module in (*routed, attachments):
        app.router.add_routes(module.routes)
    # /static/widget.js is the bundle (shared helpers, then the widget), not the plain file:
    # aiohttp tries the longer path first
    app.router.add_routes([widget_script.widget_script_route()])
    app.router.add_static("/static/", PACKAGE / "static")
    if components.telegram is not None:
        telegram_settings = components.settings.channels.telegram
        app.router.add_post(telegram_settings.webhook_path, components.telegram.webhook)
        app.on_startup.append(_start_telegram)
    app.on_cleanup.append(_close)
    return app


async def _start_telegram(app: web.Application) -> None:
    components = app[keys.COMPONENTS]
    assert components.telegram is not None  # only registered when configured
    await components.telegram.start(polling=components.settings.channels.telegram.mode == "polling")


async def _live_updates(app: web.Application) -> AsyncIterator[None]:
    """Run the hub; when it may have missed updates (Redis came back), browsers reconnect and
    resume from the database."""
    hub = app[keys.COMPONENTS].hub
    hub.on_resubscribed(lambda: _close_sockets(app, b"live updates resumed: reload"))
    await hub.start()
    yield
    await hub.close()


async def _close_sockets(app: web.Application, why: bytes = b"server shutting down") -> None:
    """Tell every browser we are going away, so it reconnects (to us or another worker) at once."""
    sockets = app[keys.SOCKETS]
    for socket in list(sockets):
        await socket.close(code=WSCloseCode.GOING_AWAY, message=why)


async def _close(app: web.Application) -> None:
    components = app[keys.COMPONENTS]
    if components.telegram is not None:
        await components.telegram.stop()
    await asyncio.to_thread(components.kb.close)
    await asyncio.to_thread(components.engine.encoder.close)
    await components.db.dispose()
