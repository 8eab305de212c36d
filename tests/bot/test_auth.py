"""Log-in, roles and CSRF through the real pages."""

from __future__ import annotations

from tests.bot.conftest import PASSWORD, Client, login, submit_login


async def test_wrong_password_is_refused_with_a_clear_message(
    client: Client, users: dict[str, int]
) -> None:
    response = await submit_login(client, "ada", "not it")
    assert response.status == 401
    assert "Wrong username or password" in await response.text()
    assert "helpline_session" not in response.cookies


async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(
    client: Client, users: dict[str, int]
) -> None:
    response = await submit_login(client, "nobody", PASSWORD)
    assert response.status == 401
    assert "Wrong username or password" in await response.text()


async def test_login_without_the_form_token_is_refused(
    client: Client, users: dict[str, int]
) -> None:
    response = await client.post(
        "/login", data={"username": "ada", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403


async def test_console_needs_a_login(client: Client) -> None:
    page = await client.get("/console", allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"].startswith("/login")
    api = await client.get("/api/console/tickets")
    assert api.status == 401
    assert (await api.json())["error"]["code"] == "unauthenticated"


async def test_reports_are_for_supervisors_not_agents(
    client: Client, users: dict[str, int]
) -> None:
    await login(client, "ada")
    assert (await client.get("/reports")).status == 403
    client.session.cookie_jar.clear()
    await login(client, "sam")
    page = await client.get("/reports")
    assert page.status == 200
    assert "<svg" in await page.text()


async def test_api_writes_need_the_csrf_header(client: Client, users: dict[str, int]) -> None:
    csrf = await login(client, "ada")
    without = await client.post("/api/console/tickets/1/take")
    assert without.status == 403
    assert (await without.json())["error"]["code"] == "csrf"
    wrong = await client.post("/api/console/tickets/1/take", headers={"X-CSRF-Token": csrf + "x"})
    assert wrong.status == 403


async def test_logout_ends_the_session(client: Client, users: dict[str, int]) -> None:
    csrf = await login(client, "ada")
    response = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert response.status == 303
    assert (await client.get("/api/console/tickets")).status == 401
