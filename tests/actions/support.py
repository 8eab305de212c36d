"""Small steps the action tests share; each runs in its own committed unit of work."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import get_conversation, open_conversation
from actions.tickets import (
    Handoff,
    TicketFields,
    agent_reply,
    get_ticket,
    handoff,
    resolve_ticket,
)
from actions.users import create_user, set_agent_status
from storage.database import Database
from storage.models import AuditLog, Base, Conversation, Event, Message, Ticket, User

PASSWORD = "correct horse battery"
MINUTES_PER_TICKET = 4.0


async def make_agent(
    db: Database,
    username: str,
    queues: Iterable[str] = ("billing",),
    *,
    capacity: int = 3,
    online: bool = False,
    role: str = "agent",
    skills: dict[str, int] | None = None,
    languages: Iterable[str] = (),
) -> int:
    async with db.session() as session, session.begin():
        user = await create_user(
            session,
            username,
            username.title(),
            role,
            PASSWORD,
            list(queues),
            capacity,
            skills=skills,
            languages=languages,
        )
        if online:
            await set_agent_status(session, user, "online")
        return user.id


async def go_online(db: Database, user_id: int) -> list[int]:
    """The agent comes online; returns the ids of the tickets they received."""
    async with db.session() as session, session.begin():
        user = await load_user(session, user_id)
        return [t.id for t in await set_agent_status(session, user, "online")]


async def start_conversation(db: Database, sender: str, channel: str = "rest") -> int:
    async with db.session() as session, session.begin():
        return (await open_conversation(session, channel, sender)).id


async def hand_off(
    db: Database,
    conversation_id: int,
    queue: str = "billing",
    fields: TicketFields | None = None,
    now: datetime | None = None,
) -> Handoff:
    async with db.session() as session, session.begin():
        conversation = await get_conversation(session, conversation_id)
        return await handoff(
            session,
            conversation,
            queue,
            subject="I was charged twice",
            category=queue,
            minutes_per_ticket=MINUTES_PER_TICKET,
            fields=fields,
            now=now,
        )


async def new_handoff(
    db: Database,
    sender: str,
    queue: str = "billing",
    fields: TicketFields | None = None,
    now: datetime | None = None,
) -> Handoff:
    """A new customer asks for a person."""
    return await hand_off(db, await start_conversation(db, sender), queue, fields, now)


async def set_status(db: Database, user_id: int, status: str) -> list[int]:
    async with db.session() as session, session.begin():
        user = await load_user(session, user_id)
        return [t.id for t in await set_agent_status(session, user, status)]


async def reply(db: Database, ticket_id: int, user_id: int, text: str = "On it.") -> None:
    async with db.session() as session, session.begin():
        ticket = await get_ticket(session, ticket_id)
        await agent_reply(session, ticket, await load_user(session, user_id), text)


async def assignee_of(db: Database, ticket_id: int) -> int | None:
    return (await read_ticket(db, ticket_id)).assignee_id


async def resolve(db: Database, ticket_id: int, user_id: int) -> list[int]:
    async with db.session() as session, session.begin():
        ticket = await get_ticket(session, ticket_id)
        user = await load_user(session, user_id)
        return [t.id for t in await resolve_ticket(session, ticket, user)]


async def load_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    assert user is not None
    return user


async def read_ticket(db: Database, ticket_id: int) -> Ticket:
    async with db.session() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


async def read_conversation(db: Database, conversation_id: int) -> Conversation:
    async with db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation


async def read_messages(db: Database, conversation_id: int) -> list[Message]:
    async with db.session() as session:
        query = select(Message).where(Message.conversation_id == conversation_id)
        return list(await session.scalars(query.order_by(Message.id)))


async def read_events(db: Database, event_type: str) -> list[Event]:
    async with db.session() as session:
        query = select(Event).where(Event.type == event_type).order_by(Event.id)
        return list(await session.scalars(query))


async def read_audit(db: Database, action: str) -> list[AuditLog]:
    async with db.session() as session:
        query = select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        return list(await session.scalars(query))


async def count_rows(db: Database, model: type[Base]) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def table_sizes(db: Database) -> dict[str, int]:
    """Rows per table: a fingerprint of everything stored."""
    async with db.session() as session:
        return {
            name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }
