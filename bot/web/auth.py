"""Log-in sessions, CSRF tokens and the one access check that decides every read and write."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.errors import Forbidden, HelplineError
from actions.users import hash_password, verify_password
from storage.models import LoginSession, Ticket, User, utcnow

SESSION_COOKIE = "helpline_session"
LOGIN_CSRF_COOKIE = "helpline_login_csrf"
SESSION_LIFETIME = timedelta(hours=12)
STAFF_ROLES = ("agent", "supervisor", "admin")
REPORT_ROLES = ("supervisor", "admin")
# A real hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = hash_password(secrets.token_hex(16))


class Unauthenticated(HelplineError):
    code, status = "unauthenticated", 401


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


async def start_session(session: AsyncSession, user: User) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_digest(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=utcnow() + SESSION_LIFETIME,
        )
    )
    return token


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))


async def current_login(
    session: AsyncSession, request: web.Request
) -> tuple[User, LoginSession] | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    login = await session.get(LoginSession, _digest(token))
    if login is None or login.expires_at < utcnow():
        return None
    user = await session.get(User, login.user_id)
    return (user, login) if user is not None else None


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
    )


def check_csrf(expected: str, given: str | None) -> None:
    if not given or not hmac.compare_digest(expected, given):
        raise Forbidden("missing or wrong CSRF token; reload the page", code="csrf")


def require_role(user: User, roles: tuple[str, ...]) -> None:
    if user.role not in roles:
        raise Forbidden("your role may not open this page")


def can_see_ticket(user: User, queue_id: int, assignee_id: int | None) -> bool:
    """The access check: supervisors and admins see everything, agents their queues and tickets."""
    if user.role in REPORT_ROLES:
        return True
    return assignee_id == user.id or queue_id in {q.id for q in user.queues}


def access_ticket(user: User, ticket: Ticket) -> Ticket:
    if not can_see_ticket(user, ticket.queue_id, ticket.assignee_id):
        raise Forbidden("this ticket is not in one of your queues")
    return ticket
