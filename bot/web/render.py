"""Render a page: the template's own context plus who is logged in and their CSRF token."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.web import keys


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    page = {"user": request.get(keys.USER), "csrf_token": request.get(keys.CSRF_TOKEN, "")}
    page.update(context)
    return aiohttp_jinja2.render_template(template, request, page, status=status)
