"""The event and audit rows that every action writes beside its change.

The rows are written with the transaction's commit, all of a table's in one statement, not as
ORM objects: each message stores an audit row and an event, and through the session's unit of
work they cost about 1 ms of the 11 to 12 ms of CPU a turn took here. Until then they wait in
the session's `info`, in the order they were recorded (the reports fold events in that order):

- the commit of the outermost transaction writes them (`before_commit`), after a flush;
- a statement that reads or changes the events or the audit log writes them before it runs, so a
  transaction sees what it recorded (inside a savepoint they wait: the savepoint could take
  with it rows recorded before it);
- a savepoint that rolls back takes the rows recorded inside it with it, and the end of the
  outermost transaction (commit, rollback or close) lets go of whatever is left;
- rows recorded before the session's transaction began are added as objects, as any change
  made then, and its first flush writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql import ClauseElement, visitors

from storage.models import AuditLog, Event, utcnow

_AUDIT: Table = AuditLog.__table__  # type: ignore[assignment]
_EVENTS: Table = Event.__table__  # type: ignore[assignment]
_MODELS: dict[Table, type[AuditLog | Event]] = {_AUDIT: AuditLog, _EVENTS: Event}
_TABLES = frozenset({_AUDIT.name, _EVENTS.name})
_PENDING = "helpline_recorded"  # session.info: rows recorded and not yet written, in order


@dataclass(frozen=True)
class Actor:
    type: str  # customer | agent | bot | system
    id: int | None = None


BOT = Actor("bot")
SYSTEM = Actor("system")


@dataclass(frozen=True)
class _Row:
    table: Table
    values: dict[str, Any]
    savepoint: SessionTransaction | None  # the savepoint it was recorded in (None: none)


class Identified(Protocol):
    """A stored object, whose id the database gives it at the flush."""

    id: int


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target: tuple[str, int | Identified],
    *,
    event: str | None = None,
    conversation_id: int | None = None,
    ticket_id: int | None = None,
    agent_id: int | None = None,
    queue: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record the audit row for `action` and, when `event` is given, the event for the reports;
    they are written with the transaction (see the module's note). The target may be given as
    the object: a new one's id is read when the rows are written, after a flush."""
    now = utcnow()
    details = payload or {}
    rows: list[tuple[Table, dict[str, Any]]] = [
        (
            _AUDIT,
            {
                "actor_type": actor.type,
                "actor_id": actor.id,
                "action": action,
                "target_type": target[0],
                "target_id": target[1],
                "details": details,
                "created_at": now,
            },
        )
    ]
    if event is not None:
        values: dict[str, Any] = {
            "type": event,
            "conversation_id": conversation_id,
            "ticket_id": ticket_id,
            "agent_id": agent_id,
            "queue": queue,
            "payload": details,
            "created_at": now,
        }
        rows.append((_EVENTS, values))
    sync = session.sync_session
    if not sync.in_transaction():  # no commit to wait for yet: the next flush writes them
        session.add_all(_MODELS[table](**_resolved(values)) for table, values in rows)
        return
    savepoint = sync.get_nested_transaction()
    pending: list[_Row] = sync.info.setdefault(_PENDING, [])
    pending.extend(_Row(table, values, savepoint) for table, values in rows)


def _write(session: Session) -> None:
    """Write the recorded rows: one statement per table, each table's rows in their order."""
    rows: list[_Row] = session.info.pop(_PENDING, [])
    if not rows:
        return
    if any(_target_object(row.values) is not None for row in rows):
        session.flush()  # a target recorded as a new object gets its id
    connection = session.connection()
    for table in (_AUDIT, _EVENTS):
        values = [_resolved(row.values) for row in rows if row.table is table]
        if values:
            connection.execute(insert(table), values)


def _resolved(values: dict[str, Any]) -> dict[str, Any]:
    """The row's values with a target given as an object replaced by its id."""
    target = _target_object(values)
    return values if target is None else {**values, "target_id": target.id}


def _target_object(values: dict[str, Any]) -> Identified | None:
    """The audit row's target when it was recorded as an object (its id may not be known)."""
    target = values.get("target_id")
    return None if target is None or isinstance(target, int) else target


@event.listens_for(Session, "before_commit")
def _write_with_the_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release: its rows wait for the commit
        session.flush()  # rows added as objects before the transaction began come first
        _write(session)


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading(state: ORMExecuteState) -> None:
    session = state.session
    if not session.info.get(_PENDING) or session.in_nested_transaction():
        return
    statement = state.statement
    if not isinstance(statement, ClauseElement):
        return
    if any(isinstance(e, Table) and e.name in _TABLES for e in visitors.iterate(statement)):
        _write(session)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    rows: list[_Row] | None = session.info.get(_PENDING)
    if rows:
        rows[:] = [row for row in rows if not _inside(row.savepoint, previous)]


@event.listens_for(Session, "after_transaction_end")
def _let_go(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _inside(savepoint: SessionTransaction | None, transaction: SessionTransaction) -> bool:
    while savepoint is not None:
        if savepoint is transaction:
            return True
        savepoint = savepoint.parent
    return False
