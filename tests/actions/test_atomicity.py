"""Every action writes its change, its event and its audit row in the caller's transaction:
a rolled-back unit of work leaves no trace of any of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import add_message, get_conversation, open_conversation
from actions.csat import record_csat
from actions.errors import Conflict
from actions.tickets import (
    agent_reply,
    create_ticket,
    get_ticket,
    handoff,
    resolve_ticket,
    take_ticket,
)
from actions.users import create_user, set_agent_status
from storage.database import Database
from storage.models import AuditLog, Base, Conversation, Event, Ticket, User
from tests.actions.support import (
    MINUTES_PER_TICKET,
    PASSWORD,
    load_user,
    make_agent,
    new_handoff,
    resolve,
    start_conversation,
)


@dataclass(frozen=True)
class Scene:
    """Ada (billing, capacity 1) works on one ticket; one waits; one conversation awaits a
    rating; one is still with the bot; Bob (billing) is offline."""

    ada: int
    bob: int
    assigned: int
    waiting: int
    rated: int
    with_bot: int


async def _scene(db: Database) -> Scene:
    ada = await make_agent(db, "ada", capacity=1, online=True)
    bob = await make_agent(db, "bob")
    to_rate = await new_handoff(db, "rita")
    await resolve(db, to_rate.ticket.id, ada)
    assigned = await new_handoff(db, "anna")
    waiting = await new_handoff(db, "will")
    assert waiting.assigned == []
    with_bot = await start_conversation(db, "bea")
    return Scene(
        ada, bob, assigned.ticket.id, waiting.ticket.id, to_rate.ticket.conversation_id, with_bot
    )


Act = Callable[[AsyncSession, Scene], Awaitable[Any]]


async def _open_conversation(session: AsyncSession, _scene: Scene) -> None:
    await open_conversation(session, "telegram", "new-customer", "Nora")


async def _add_message(session: AsyncSession, scene: Scene) -> None:
    conversation = await get_conversation(session, scene.with_bot)
    await add_message(session, conversation, "customer", "hi", external_id="x-1")


async def _create_ticket(session: AsyncSession, scene: Scene) -> None:
    conversation = await get_conversation(session, scene.with_bot)
    await create_ticket(
        session, conversation, "general", "help", category=None, idempotency_key="k"
    )


async def _handoff(session: AsyncSession, scene: Scene) -> None:
    conversation = await get_conversation(session, scene.with_bot)
    await handoff(
        session,
        conversation,
        "billing",
        subject="help",
        category="billing",
        minutes_per_ticket=MINUTES_PER_TICKET,
    )


async def _take_ticket(session: AsyncSession, scene: Scene) -> None:
    await take_ticket(
        session, await get_ticket(session, scene.waiting), await load_user(session, scene.bob)
    )


async def _agent_reply(session: AsyncSession, scene: Scene) -> None:
    ticket = await get_ticket(session, scene.assigned)
    await agent_reply(session, ticket, await load_user(session, scene.ada), "on it")


async def _resolve_ticket(session: AsyncSession, scene: Scene) -> None:
    ticket = await get_ticket(session, scene.assigned)
    assigned = await resolve_ticket(session, ticket, await load_user(session, scene.ada))
    assert [t.id for t in assigned] == [scene.waiting]  # the freed place is given away, too


async def _record_csat(session: AsyncSession, scene: Scene) -> None:
    await record_csat(session, await get_conversation(session, scene.rated), 4, "fine")


async def _reject_csat(session: AsyncSession, scene: Scene) -> None:
    with pytest.raises(Conflict):
        await record_csat(session, await get_conversation(session, scene.with_bot), 4)


async def _set_agent_status(session: AsyncSession, scene: Scene) -> None:
    assigned = await set_agent_status(session, await load_user(session, scene.bob), "online")
    assert [t.id for t in assigned] == [scene.waiting]


async def _create_user(session: AsyncSession, _scene: Scene) -> None:
    await create_user(session, "carl", "Carl", "agent", PASSWORD, ["general"])


ACTIONS: dict[str, Act] = {
    "open_conversation": _open_conversation,
    "add_message": _add_message,
    "create_ticket": _create_ticket,
    "handoff": _handoff,
    "take_ticket": _take_ticket,
    "agent_reply": _agent_reply,
    "resolve_ticket": _resolve_ticket,
    "record_csat": _record_csat,
    "record_csat_rejected": _reject_csat,
    "set_agent_status": _set_agent_status,
    "create_user": _create_user,
}


AUDIT_ONLY = {"create_user"}  # a new account is no event for the reports, only for the audit


class Rollback(Exception):
    """Raised inside the unit of work to roll it back."""


async def _snapshot(session: AsyncSession) -> dict[str, Any]:
    """Every table's size, and the mutable fields actions change."""
    sizes = {
        name: await session.scalar(select(func.count()).select_from(table))
        for name, table in Base.metadata.tables.items()
    }
    tickets = await session.execute(
        select(
            Ticket.id,
            Ticket.status,
            Ticket.assignee_id,
            Ticket.first_response_at,
            Ticket.resolved_at,
        )
    )
    conversations = await session.execute(select(Conversation.id, Conversation.status))
    users = await session.execute(select(User.id, User.status))
    rows = {"tickets": tickets, "conversations": conversations, "users": users}
    return sizes | {name: sorted(tuple(row) for row in result) for name, result in rows.items()}


async def _counts(session: AsyncSession) -> tuple[int, int]:
    events = await session.scalar(select(func.count()).select_from(Event))
    audit = await session.scalar(select(func.count()).select_from(AuditLog))
    return int(events or 0), int(audit or 0)


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_a_rolled_back_action_leaves_no_change_event_or_audit_row(
    db: Database, action: str
) -> None:
    scene = await _scene(db)
    async with db.session() as session:
        before = await _snapshot(session)

    with pytest.raises(Rollback):
        async with db.session() as session, session.begin():
            events, audit = await _counts(session)
            await ACTIONS[action](session, scene)
            assert await _snapshot(session) != before  # the action did change something
            after_events, after_audit = await _counts(session)
            assert after_events > events or action in AUDIT_ONLY, "the action wrote no event"
            assert after_audit > audit, "the action wrote no audit row"
            raise Rollback

    async with db.session() as session:
        assert await _snapshot(session) == before


@pytest.mark.parametrize("action", ["open_conversation", "create_ticket", "record_csat"])
async def test_a_committed_action_keeps_its_change_event_and_audit_row(
    db: Database, action: str
) -> None:
    scene = await _scene(db)
    async with db.session() as session:
        before_events, before_audit = await _counts(session)

    async with db.session() as session, session.begin():
        await ACTIONS[action](session, scene)
        expected = await _snapshot(session), await _counts(session)

    async with db.session() as session:
        assert (await _snapshot(session), await _counts(session)) == expected
    assert expected[1][0] > before_events
    assert expected[1][1] > before_audit
