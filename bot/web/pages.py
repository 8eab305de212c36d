"""Public pages: the demo shop, KB articles, health, and log-in / log-out."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web
from markdown_it import MarkdownIt
from sqlalchemy import text

from actions.users import set_agent_status
from bot.web import keys
from bot.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    authenticate,
    check_csrf,
    end_session,
    set_session_cookie,
    start_session,
)
from bot.web.client_address import client_address
from bot.web.render import render
from bot.web.staff import staff
from nlu.parse_process import ParseProcess
from storage.database import RETRY_AFTER_S, unavailable

routes = web.RouteTableDef()
_markdown = MarkdownIt("commonmark", {"html": False})  # raw HTML in articles is not rendered


@routes.get("/")
async def demo_shop(request: web.Request) -> web.Response:
    return render(request, "demo_shop.html", {})


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    components = request.app[keys.COMPONENTS]
    try:
        async with components.db.session() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        if not unavailable(exc):
            raise
        body = {"status": "unavailable", "database": f"unreachable ({type(exc).__name__})"}
        return web.json_response(body, status=503, headers={"Retry-After": str(RETRY_AFTER_S)})
    return web.json_response(
        {
            "status": "ok",
            "nlu_model": components.nlu.metadata.get("trained_at"),
            "intents": len(components.nlu.intents),
            "kb_articles": len(components.kb.articles),
            # Redis down leaves this worker serving (rate limits fail open, clients resume from
            # the database), so it is reported here, not turned into an error status.
            "redis": await components.hub.status() if components.settings.redis_url else "off",
            "parse_process": _parse_process(components.engine.encoder.process),
        }
    )


def _parse_process(process: ParseProcess | None) -> dict[str, int] | str:
    if process is None:
        return "off"  # parsing runs on a thread of this process
    return {"pid": process.pid, "restarts": process.restarts}


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; no personal data: only counts, timings and queue depths."""
    components = request.app[keys.COMPONENTS]
    process = components.engine.encoder.process
    components.engine.metrics.parse_restarts.set(process.restarts if process else 0)
    async with components.db.session() as session:
        body = await components.engine.metrics.exposition(session)
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


@routes.get("/kb/{slug}")
async def kb_article(request: web.Request) -> web.Response:
    article = request.app[keys.COMPONENTS].kb.articles.get(request.match_info["slug"])
    if article is None:
        raise web.HTTPNotFound(reason="no such article")
    html = _markdown.render(article.body)
    context = {"article": {"title": article.title, "html": html, "tags": list(article.tags)}}
    return render(request, "kb_article.html", context)


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    return _login_page(request, error=None, status=200)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), _field(form, "csrf_token"))
    components = request.app[keys.COMPONENTS]
    throttle = request.app[keys.LOGIN_THROTTLE]
    attempt = (f"user:{_field(form, 'username').lower()}", f"ip:{client_address(request)}")
    wait = await throttle.retry_after(*attempt)
    if wait is not None:
        response = _login_page(request, error=_locked(wait), status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    async with components.engine.unit_of_work() as session:
        user = await authenticate(session, _field(form, "username"), _field(form, "password"))
        if user is None:
            await throttle.failed(*attempt)
            return _login_page(request, error="Wrong username or password.", status=401)
        await throttle.succeeded(*attempt)
        token = await start_session(session, user)
        await set_agent_status(session, user, "online")
    target = _field(form, "next")
    if not target.startswith("/") or target.startswith("//"):
        target = "/reports" if user.role in ("supervisor", "admin") else "/console"
    response = web.HTTPSeeOther(target)
    set_session_cookie(response, request, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/")
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    components = request.app[keys.COMPONENTS]
    async with components.engine.unit_of_work() as session:
        me = await staff(session, request)
        await set_agent_status(session, me.user, "offline")
        await end_session(session, request.cookies[SESSION_COOKIE])
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def _login_page(request: web.Request, error: str | None, status: int) -> web.Response:
    token = secrets.token_urlsafe(32)
    context = {"csrf_token": token, "error": error, "next": request.query.get("next", "")}
    response = render(request, "login.html", context, status=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/"
    )
    return response


def _locked(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return (
        f"Too many failed log-ins. Try again in about {minutes} minute{'s' if minutes > 1 else ''}."
    )


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""
