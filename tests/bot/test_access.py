"""Who may do what: the role x endpoint matrix, log-in lock-out, and WebSocket origins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from actions.attachments import attach_files, receive_file
from actions.conversations import get_conversation, transcript
from actions.users import create_user
from bot.components import Components
from bot.web import keys
from bot.web.app import create_app
from bot.web.throttle import LOCKOUT_S, MAX_FAILURES, MemoryLoginThrottle
from tests.actions.test_attachments import PNG, chunks
from tests.bot.conftest import PASSWORD, Client, login, submit_login

ANONYMOUS, ADA, GRACE, SAM, ROOT = "anonymous", "ada", "grace", "sam", "root"
READS = [
    # path template, who gets 200 (everyone else: 401 when anonymous, 403 when logged in)
    ("/api/console/tickets/{ticket}", {ADA, SAM, ROOT}),
    ("/api/console/conversations/{conversation}", {ADA, SAM, ROOT}),
    ("/attachments/{attachment}", {ADA, SAM, ROOT}),
    ("/api/console/tickets?view=all", {ADA, GRACE, SAM, ROOT}),
    ("/api/console/canned", {ADA, GRACE, SAM, ROOT}),
    ("/reports", {SAM, ROOT}),
    ("/kb/admin", {SAM, ROOT}),
    ("/kb/admin/new", {SAM, ROOT}),
    ("/kb/gaps", {SAM, ROOT}),
    ("/kb/gaps.csv", {SAM, ROOT}),
    ("/reports/conversations", {SAM, ROOT}),
    ("/reports/conversations/{conversation}", {SAM, ROOT}),
    ("/reports/export.csv", {SAM, ROOT}),
]
WRITES = [
    "/api/console/tickets/{ticket}/take",
    "/api/console/tickets/{ticket}/messages",
    "/api/console/tickets/{ticket}/resolve",
    "/api/console/canned",
]

# The knowledge-base editor's form posts: supervisors and admins only.
EDITOR_WRITES = [
    "/kb/admin/new",
    "/kb/admin/refunds",
    "/kb/admin/refunds/publish",
    "/kb/admin/refunds/unpublish",
]


@pytest.fixture
async def billing_ticket(
    client: Client, components: Components, users: dict[str, int]
) -> dict[str, int]:
    async with components.db.session() as session, session.begin():
        await create_user(session, ROOT, "Root", "admin", PASSWORD, [])
    await client.post(
        "/webhooks/rest/webhook",
        json={"sender": "m", "message": "I was charged twice, I want a refund"},
    )
    await login(client, SAM)
    ticket = (await (await client.get("/api/console/tickets?view=all")).json())["tickets"][0]
    client.session.cookie_jar.clear()
    async with components.db.session() as session, session.begin():  # the customer sent a file
        conversation = await get_conversation(session, ticket["conversation_id"])
        first = (await transcript(session, conversation.id))[0]
        received = await receive_file(components.engine.files, chunks(PNG), "a.png", None, 9999)
        [attachment] = await attach_files(session, conversation, first, [received])
    return {
        "ticket": ticket["id"],
        "conversation": ticket["conversation_id"],
        "attachment": attachment.id,
    }


@pytest.mark.parametrize("role", [ANONYMOUS, ADA, GRACE, SAM, ROOT])
async def test_role_endpoint_matrix(
    client: Client, billing_ticket: dict[str, int], role: str
) -> None:
    csrf = await login(client, role) if role != ANONYMOUS else ""
    for template, allowed in READS:
        path = template.format(**billing_ticket)
        response = await client.get(path, allow_redirects=False)
        if role in allowed:
            assert response.status == 200, (role, path)
        elif role == ANONYMOUS:
            assert response.status in (401, 303), (role, path)
        else:
            assert response.status == 403, (role, path)
    if role in (ANONYMOUS, GRACE):
        for template in WRITES:
            path = template.format(**billing_ticket)
            response = await client.post(path, json={"text": "x"}, headers={"X-CSRF-Token": csrf})
            assert response.status == (401 if role == ANONYMOUS else 403), (role, path)
    if role in (ANONYMOUS, ADA, GRACE):
        for path in EDITOR_WRITES:
            response = await client.post(path, data={"csrf_token": csrf}, allow_redirects=False)
            assert response.status == (303 if role == ANONYMOUS else 403), (role, path)


async def test_writes_by_others_change_nothing(
    client: Client, billing_ticket: dict[str, int]
) -> None:
    csrf = await login(client, GRACE)
    await client.post(
        f"/api/console/tickets/{billing_ticket['ticket']}/resolve", headers={"X-CSRF-Token": csrf}
    )
    client.session.cookie_jar.clear()
    await login(client, SAM)
    ticket = await (await client.get(f"/api/console/tickets/{billing_ticket['ticket']}")).json()
    assert ticket["ticket"]["status"] in ("new", "open")


@pytest.fixture
async def clocked(
    aiohttp_client: Callable[..., Awaitable[Client]], components: Components, users: dict[str, int]
) -> tuple[Client, list[float]]:
    now = [1000.0]
    app = create_app(components)
    app[keys.LOGIN_THROTTLE] = MemoryLoginThrottle(clock=lambda: now[0])
    return await aiohttp_client(app), now


async def test_repeated_failures_lock_the_account_out_with_retry_after(
    clocked: tuple[Client, list[float]],
) -> None:
    client, now = clocked
    for _ in range(MAX_FAILURES):
        assert (await submit_login(client, ADA, "wrong password")).status == 401
    locked = await submit_login(client, ADA, PASSWORD)  # even the right password waits
    assert locked.status == 429
    assert 0 < int(locked.headers["Retry-After"]) <= LOCKOUT_S
    assert "Too many failed log-ins" in await locked.text()
    now[0] += LOCKOUT_S + 1
    assert (await submit_login(client, ADA, PASSWORD)).status == 303


async def test_websocket_upgrades_from_foreign_origins_are_refused(
    client: Client, users: dict[str, int]
) -> None:
    for path in ("/ws/widget", "/ws/console"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(path, headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403
    own = str(client.make_url("")).rstrip("/")
    socket = await client.ws_connect("/ws/widget", headers={"Origin": own})
    await socket.send_json({"type": "hello", "token": None})
    assert (await socket.receive_json())["type"] == "welcome"
    await socket.close()
