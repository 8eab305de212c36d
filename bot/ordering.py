"""One conversation's messages are handled one at a time, in the order they reach the lock, even
when several workers receive them.

This is a PostgreSQL transaction-level advisory lock keyed by the channel and the sender, not a
Redis lock with a timeout: it is held by the very transaction that stores the message and
decides the turn, so it is released exactly at commit or rollback (also when a worker dies, with
its connection). There is no timeout to guess for a slow turn, no moment between unlocking and
committing when another worker could read the old state, and it works without Redis. SQLite
has one writer at a time (and one worker), so it needs nothing more.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from actions.conversations import IN_ORDER

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


def conversation_key(channel: str, sender: str) -> str:
    return f"helpline:conversation:{channel}:{sender}"


async def lock_conversation(session: AsyncSession, channel: str, sender: str) -> None:
    """Wait until no other transaction handles this sender's conversation; held until commit.
    Call it inside a unit of work (`bot.live.unit_of_work`): on SQLite that is what orders the
    writers. The session then says so (`IN_ORDER`), and a delivery's message is stored with
    the turn's replies, without a savepoint of its own."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(_LOCK, {"key": conversation_key(channel, sender)})
    session.info[IN_ORDER] = session.sync_session.get_transaction()  # until it ends
