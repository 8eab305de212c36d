"""Canned responses: agents read them, supervisors write them; bad input is refused clearly."""

from __future__ import annotations

from sqlalchemy import select

from actions.canned import CannedInput, add_missing_canned
from bot.components import Components
from storage.models import AuditLog, CannedResponse
from tests.bot.conftest import Client, login

REFUND = {"shortcut": "/Refund", "title": "Refund sent", "text": "Your refund is on its way."}


async def test_supervisor_writes_and_agents_read(
    client: Client, components: Components, users: dict[str, int]
) -> None:
    headers = {"X-CSRF-Token": await login(client, "sam")}
    created = await client.post("/api/console/canned", json=REFUND, headers=headers)
    assert created.status == 201, await created.text()
    canned = (await created.json())["canned"]
    assert canned["shortcut"] == "refund"  # lower-cased, the leading slash dropped

    changed = await client.put(
        f"/api/console/canned/{canned['id']}",
        json={**REFUND, "text": "Refund sent today."},
        headers=headers,
    )
    assert changed.status == 200
    client.session.cookie_jar.clear()

    agent_headers = {"X-CSRF-Token": await login(client, "ada")}
    listed = await (await client.get("/api/console/canned")).json()
    assert listed["can_edit"] is False
    assert [(c["shortcut"], c["text"]) for c in listed["canned"]] == [
        ("refund", "Refund sent today.")
    ]
    refused = await client.post(
        "/api/console/canned", json={**REFUND, "shortcut": "mine"}, headers=agent_headers
    )
    assert refused.status == 403
    gone = await client.delete(f"/api/console/canned/{canned['id']}", headers=agent_headers)
    assert gone.status == 403

    async with components.db.session() as session:
        shortcuts = list(await session.scalars(select(CannedResponse.shortcut)))
        actions = list(
            await session.scalars(
                select(AuditLog.action).where(AuditLog.target_type == "canned_response")
            )
        )
    assert shortcuts == ["refund"]
    assert actions == ["canned_created", "canned_updated"]


async def test_bad_input_says_what_was_wrong(client: Client, users: dict[str, int]) -> None:
    headers = {"X-CSRF-Token": await login(client, "sam")}
    cases = [
        ({**REFUND, "shortcut": "has space"}, 400, "`shortcut` must be"),
        ({**REFUND, "title": ""}, 400, "`title` must be a non-empty string"),
        ({**REFUND, "text": 7}, 400, "`text` must be a non-empty string"),
        ({**REFUND, "text": "x" * 4001}, 400, "longer than 4000"),
    ]
    for body, status, message in cases:
        response = await client.post("/api/console/canned", json=body, headers=headers)
        assert response.status == status, body
        assert message in (await response.json())["error"]["message"]
    assert (await client.post("/api/console/canned", json=REFUND, headers=headers)).status == 201
    twice = await client.post("/api/console/canned", json=REFUND, headers=headers)
    assert twice.status == 409
    assert "/refund is already used" in (await twice.json())["error"]["message"]
    missing = await client.put("/api/console/canned/999", json=REFUND, headers=headers)
    assert missing.status == 404
    no_csrf = await client.post("/api/console/canned", json={**REFUND, "shortcut": "other"})
    assert no_csrf.status == 403


async def test_delete_and_the_starter_set_is_added_once(
    client: Client, components: Components, users: dict[str, int]
) -> None:
    starter = [CannedInput("hello", "Greeting", "Hi {customer}"), CannedInput("bye", "Bye", "Bye")]
    async with components.db.session() as session, session.begin():
        assert await add_missing_canned(session, starter) == 2
    async with components.db.session() as session, session.begin():
        assert await add_missing_canned(session, starter) == 0
    headers = {"X-CSRF-Token": await login(client, "sam")}
    listed = (await (await client.get("/api/console/canned")).json())["canned"]
    assert [c["shortcut"] for c in listed] == ["bye", "hello"]
    deleted = await client.delete(f"/api/console/canned/{listed[0]['id']}", headers=headers)
    assert deleted.status == 200
    listed = (await (await client.get("/api/console/canned")).json())["canned"]
    assert [c["shortcut"] for c in listed] == ["hello"]
