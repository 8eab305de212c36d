"""Who is asking: the logged-in staff member of a request, checked once per handler."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.web import keys
from bot.web.auth import STAFF_ROLES, Unauthenticated, check_csrf, current_login, require_role
from storage.models import User


@dataclass(frozen=True)
class Staff:
    user: User
    csrf_token: str


async def staff(
    session: AsyncSession, request: web.Request, roles: tuple[str, ...] = STAFF_ROLES
) -> Staff:
    """The logged-in user with one of `roles`; POSTs must carry the session's CSRF token."""
    found = await current_login(session, request)
    if found is None:
        raise Unauthenticated("log in first")
    user, login = found
    require_role(user, roles)
    if request.method not in ("GET", "HEAD"):
        check_csrf(login.csrf_token, await _csrf_from(request))
    request[keys.USER], request[keys.CSRF_TOKEN] = user, login.csrf_token
    return Staff(user, login.csrf_token)


async def _csrf_from(request: web.Request) -> str | None:
    header = request.headers.get("X-CSRF-Token")
    if header:
        return header
    if request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None
