"""The reports' read-models in the database, kept exact from the event log.

Every event with a conversation marks that conversation dirty (a trigger, in the event's own
transaction). `refresh` folds each dirty conversation's events once into its row in
`report_conversations` and its agents' rows in `report_agent_parts`, and adds the difference
between their new and old rows to the daily rollups, so a late rating or a reopen weeks after
the conversation started lands in the right day, and a refresh costs what changed, not the
size of the days it touches. Each rollup counts the rows it sums (`row_count`): one that sums
none is deleted, as a rebuild would not have it. The dashboard reads the rollups; the
drill-down reads the per-conversation rows.

Predicted satisfaction is stored with the model in force (`report_model`). The model is fitted
again when the number of rated conversations has grown (or shrunk) by REFIT_GROWTH since the last
fit; a new model re-predicts every conversation and rebuilds every rollup."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from scoring.conversations import ConversationRow, ReportFilter
from scoring.dashboard import AGENT_GROUPS, CONVERSATION_GROUPS, Grouped, Sums
from scoring.facts import AGENT_MEASURES, MEASURES, ConversationFacts, facts_by_conversation
from scoring.quality import EventRecord
from scoring.satisfaction import SatisfactionModel, fit_model, prior_model
from storage.database import begin_sqlite
from storage.models import (
    Event,
    ReportAgentPart,
    ReportAgentRollup,
    ReportConversation,
    ReportDirty,
    ReportModel,
    ReportRollup,
    utcnow,
)

BATCH = 500  # conversations folded per round; also the size of IN (...) lists
# Conversations whose events are read at once: their rows are decoded on the event loop's thread
# (the JSON payloads most of it), about 10 ms for a hundred conversations of a few turns.
READ_SLICE = 100
AHEAD = 20  # rounds of conversations folded before SQLite's write lock is taken (see `refresh`)
REFIT_GROWTH = 0.1
LOCK_KEY = 74_210_005  # PostgreSQL advisory lock: one refresh at a time across workers
_CONVERSATION_ROWS: Table = ReportConversation.__table__  # type: ignore[assignment]
_AGENT_PARTS: Table = ReportAgentPart.__table__  # type: ignore[assignment]
ROW_FIELDS = (
    "ticket_id",
    "rating",
    "first_response_s",
    "resolution_s",
    "customer_messages",
    "sentiment_start",
    "sentiment_end",
)


def micro(probability: float) -> int:
    """A probability in millionths: predicted satisfaction sums exactly in any store."""
    return round(probability * 1_000_000)


async def refresh(
    session: AsyncSession, max_conversations: int | None = None, *, wait: bool = True
) -> int:
    """Recompute the dirty conversations (up to `max_conversations`) and move their rollups,
    in the caller's transaction; returns how many conversations were recomputed. With `wait`
    False it returns 0 at once while another refresh runs (pages then read what is stored;
    PostgreSQL only, see `_lock`).
    On SQLite the lock is the database's write lock, which holds up every writer, customers'
    turns included, so up to AHEAD rounds of BATCH marked conversations have their events
    folded before it is taken. Once locked, nothing changes beneath a round: it stores the
    conversations that are still marked (another refresh may have stored them meanwhile),
    folding again first those whose events changed since (`_up_to_date`), and deletes all
    their marks."""
    ahead: list[_Folded] = []
    if (await session.connection()).dialect.name == "sqlite":
        ahead = await _fold_ahead(session, max_conversations)
        if not ahead:
            return 0  # nothing marked: no need to hold up the writers
        await _lock(session, wait=wait)
    elif not await _lock(session, wait=wait):
        return 0
    model = await stored_model(session)
    done = rated = 0  # conversations recomputed; the change in rated conversations
    while max_conversations is None or done < max_conversations:
        if ahead:
            folded, marks = await _up_to_date(session, ahead.pop(0))
        else:
            marked = await _marked(session, _round_size(max_conversations, done))
            if not marked:
                break
            marks = await _marks_of(session, marked)  # first: a mark made later stays
            folded = await _fold(session, marked)
        rated += await _recompute(session, folded, model)
        await _delete_in(session, ReportDirty.id, [i for i, _ in marks])
        done += len(folded.conversations)
    if rated:  # only a change in rated conversations can make a refit due
        await refit_if_due(session, model)
    return done


async def _fold_ahead(session: AsyncSession, max_conversations: int | None) -> list[_Folded]:
    """The conversations marked longest ago, up to AHEAD rounds of them, folded."""
    size = AHEAD * BATCH
    marked = await _marked(
        session, size if max_conversations is None else min(size, max_conversations)
    )
    return [
        await _fold(session, marked[start : start + BATCH], ahead=True)
        for start in range(0, len(marked), BATCH)
    ]


async def _up_to_date(
    session: AsyncSession, folded: _Folded
) -> tuple[_Folded, list[tuple[int, int]]]:
    """Under the lock: the conversations of a fold made ahead that are still marked, with
    their facts (folded again for those with events since), and all their marks."""
    marks = await _marks_of(session, folded.conversations)
    marked = sorted({c for _, c in marks})
    now = await _events_seen(session, marked)
    changed = {c for c in marked if now.get(c) != folded.seen.get(c)}
    current = set(marked) - changed
    kept = [f for f in folded.facts if f.row.conversation_id in current]
    again = (await _fold(session, sorted(changed))).facts if changed else []
    return _Folded(marked, kept + again), marks


def _round_size(max_conversations: int | None, done: int) -> int:
    """Conversations for the next round: BATCH, or fewer near `max_conversations`."""
    return BATCH if max_conversations is None else min(BATCH, max_conversations - done)


async def _marked(session: AsyncSession, size: int) -> list[int]:
    """The `size` conversations marked longest ago. On PostgreSQL a conversation has a mark
    for each event since it was last folded (on SQLite one, see migration 0008): a round of
    BATCH marks was about a hundred conversations under load, and the rounds folded most of
    them two or three times."""
    query = (
        select(ReportDirty.conversation_id)
        .group_by(ReportDirty.conversation_id)
        .order_by(func.min(ReportDirty.id))
        .limit(size)
    )
    return list(await session.scalars(query))


async def _marks_of(session: AsyncSession, conversations: list[int]) -> list[tuple[int, int]]:
    """Every mark (id, conversation) of these conversations (at most BATCH)."""
    query = select(ReportDirty.id, ReportDirty.conversation_id)
    found = await session.execute(query.where(ReportDirty.conversation_id.in_(conversations)))
    return [(i, c) for i, c in found]


async def mark_all_dirty(session: AsyncSession) -> None:
    """Have the next refresh fold every conversation in the event log again."""
    everyone = select(Event.conversation_id).where(Event.conversation_id.isnot(None)).distinct()
    await session.execute(insert(ReportDirty).from_select(["conversation_id"], everyone))


async def _lock(session: AsyncSession, *, wait: bool) -> bool:
    """One refresh at a time, across workers and processes. PostgreSQL: an advisory lock, or
    none with `wait` False while another refresh holds it. SQLite: the database's write lock,
    taken before the refresh reads the model or any stored row (but after the rounds it folds
    ahead, see `refresh`); it waits for another refresh's commit whatever `wait` says (it has
    no way to ask). sqlite3 would begin the transaction only at the first write, so two
    refreshes read the same state, and both created the model's row."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.run_sync(begin_sqlite, "IMMEDIATE")
        return True
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        return True
    got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    return bool(got)


@dataclass(frozen=True)
class _Folded:
    """Conversations and their facts, folded from their events; for a fold made ahead of the
    lock, what their events were then (`_events_seen`)."""

    conversations: list[int]
    facts: list[ConversationFacts]
    seen: dict[int, tuple[int, int]] = field(default_factory=dict)


async def _fold(session: AsyncSession, conversations: list[int], *, ahead: bool = False) -> _Folded:
    seen = await _events_seen(session, conversations) if ahead else {}  # first: later is new
    facts: list[ConversationFacts] = []
    for start in range(0, len(conversations), READ_SLICE):
        events = await read_events(
            session, Event.conversation_id.in_(conversations[start : start + READ_SLICE])
        )
        # Off the event loop: its turns go on meanwhile (they share the interpreter with the fold).
        facts += await asyncio.to_thread(facts_by_conversation, events)
    return _Folded(conversations, facts, seen)


async def _events_seen(
    session: AsyncSession, conversations: list[int]
) -> dict[int, tuple[int, int]]:
    """How many events each conversation has, and its newest event's id (events are only
    ever added: a new one changes both)."""
    query = (
        select(Event.conversation_id, func.count(), func.max(Event.id))
        .where(Event.conversation_id.in_(conversations))
        .group_by(Event.conversation_id)
    )
    rows = await session.execute(query)
    return {c: (int(n), int(newest)) for c, n, newest in rows if c is not None}


async def _recompute(session: AsyncSession, folded: _Folded, model: SatisfactionModel) -> int:
    """Store these conversations' (at most BATCH) facts and move the rollups by the
    difference; returns how many more of them are rated than before."""
    conversations, facts = folded.conversations, folded.facts
    if not conversations:
        return 0
    old = [await _sums(session, rollup, conversations) for rollup in ROLLUPS]
    rated_before = await session.scalar(
        select(func.count()).where(
            ReportConversation.conversation_id.in_(conversations),
            ReportConversation.rating.isnot(None),
        )
    )
    await _delete_in(session, ReportConversation.conversation_id, conversations)
    await _delete_in(session, ReportAgentPart.conversation_id, conversations)
    await store_facts(session, facts, model)
    for rollup, before in zip(ROLLUPS, old, strict=True):
        after = await _sums(session, rollup, conversations)
        await _add_to_rollup(session, rollup, _difference(after, before))
    return sum(f.row.rating is not None for f in facts) - int(rated_before or 0)


async def _delete_in(session: AsyncSession, column: Any, values: Sequence[int]) -> None:
    for start in range(0, len(values), BATCH):
        await session.execute(
            delete(column.class_).where(column.in_(values[start : start + BATCH]))
        )


_EVENT_FIELDS = select(
    Event.type,
    Event.created_at,
    Event.ticket_id,
    Event.agent_id,
    Event.queue,
    Event.payload,
    Event.conversation_id,
)


async def read_events(session: AsyncSession, *where: Any) -> list[EventRecord]:
    """The events (those matching `where`, all without) in the order they were recorded, as
    the reports fold them. Read as rows, not ORM objects: building an object per event was
    most of a refresh's reading (5,200 events, 0.34 s of a 0.9 s refresh under a profiler)."""
    rows = await session.execute(_EVENT_FIELDS.where(*where).order_by(Event.id))
    return [
        EventRecord(
            type=row.type,
            created_at=row.created_at,
            ticket_id=row.ticket_id,
            agent_id=row.agent_id,
            queue=row.queue,
            payload=row.payload or {},
            conversation_id=row.conversation_id,
        )
        for row in rows
    ]


async def store_facts(
    session: AsyncSession, facts: Sequence[ConversationFacts], model: SatisfactionModel
) -> None:
    if not facts:
        return
    # Core inserts of the tables: the ORM's bulk insert of the same rows took twice as long.
    await session.execute(
        insert(_CONVERSATION_ROWS), [conversation_values(f, model) for f in facts]
    )
    parts = [part for f in facts for part in agent_values(f)]
    if parts:
        await session.execute(insert(_AGENT_PARTS), parts)


def conversation_values(facts: ConversationFacts, model: SatisfactionModel) -> dict[str, Any]:
    row = facts.row
    return {
        "conversation_id": row.conversation_id,
        **_dimensions(facts),
        "agent_id": row.agent_id,
        **{name: getattr(row, name) for name in ROW_FIELDS},
        **facts.measures,
        "predicted_micro": micro(model.predict(row).probability),
    }


def agent_values(facts: ConversationFacts) -> list[dict[str, Any]]:
    where = {**_dimensions(facts), "conversation_agent_id": facts.row.agent_id}
    return [
        {"conversation_id": facts.row.conversation_id, "agent_id": agent, **where, **part}
        for agent, part in facts.agents.items()
    ]


def _dimensions(facts: ConversationFacts) -> dict[str, Any]:
    row = facts.row
    return {
        "day": facts.day,
        "started_at": row.started_at,
        "queue": row.queue,
        "channel": row.channel,
        "intent": row.intent,
    }


@dataclass(frozen=True)
class _Rollup:
    table: Any  # the rollup
    rows: Any  # the per-conversation rows it sums
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    conversation_agent: str  # the column that holds the conversation's agent


CONVERSATIONS = _Rollup(
    ReportRollup,
    ReportConversation,
    ("day", "queue", "channel", "intent", "agent_id"),
    MEASURES,
    "agent_id",
)
AGENTS = _Rollup(
    ReportAgentRollup,
    ReportAgentPart,
    ("day", "queue", "channel", "intent", "conversation_agent_id", "agent_id"),
    AGENT_MEASURES,
    "conversation_agent_id",
)


ROLLUPS = (CONVERSATIONS, AGENTS)
Totals = dict[tuple[Any, ...], list[int]]  # rollup key -> its measures, then its row count


@cache  # built once: building the statement took longer than running it
def _summed(rollup: _Rollup) -> Select[Any]:
    """The rollup's keys, its measures summed and the rows counted, grouped by the keys."""
    rows = rollup.rows
    columns = [getattr(rows, k) for k in rollup.keys]
    sums = (func.sum(getattr(rows, m)) for m in rollup.measures)
    return select(*columns, *sums, func.count()).group_by(*columns)


async def _sums(session: AsyncSession, rollup: _Rollup, conversations: list[int]) -> Totals:
    """What these conversations' rows add to each key of the rollup."""
    query = _summed(rollup).where(rollup.rows.conversation_id.in_(conversations))
    width = len(rollup.keys)
    return {tuple(r[:width]): [int(v) for v in r[width:]] for r in await session.execute(query)}


def _difference(after: Totals, before: Totals) -> Totals:
    changed: Totals = {}
    for key in after.keys() | before.keys():
        new, old = after.get(key), before.get(key)
        if old is None:
            changed[key] = after[key]
        elif new is None:
            changed[key] = [-v for v in old]
        elif new != old:
            changed[key] = [a - b for a, b in zip(new, old, strict=True)]
    return changed


async def _add_to_rollup(session: AsyncSession, rollup: _Rollup, changes: Totals) -> None:
    """Add `changes` (of at most 2 x BATCH keys) to the stored rollup rows: new keys are
    inserted, and a row that no longer sums any is deleted."""
    if not changes:
        return
    table, width = rollup.table, len(rollup.keys)
    names = (*rollup.measures, "row_count")
    query = select(*(getattr(table, c) for c in (*rollup.keys, *names)), table.id)
    found = await session.execute(query.where(*_covering(table, rollup.keys, changes)))
    stored = {tuple(r[:width]): r for r in found if tuple(r[:width]) in changes}
    inserts, updates, deletes = [], [], []
    for key, change in changes.items():
        row = stored.get(key)
        if row is None:
            inserts.append(dict(zip((*rollup.keys, *names), (*key, *change), strict=True)))
            continue
        totals = [int(v) + c for v, c in zip(row[width:-1], change, strict=True)]
        if totals[-1] == 0:
            deletes.append(row.id)
        else:
            updates.append({"row": row.id, **dict(zip(names, totals, strict=True))})
    if inserts:
        await session.execute(insert(table.__table__), inserts)
    if updates:
        await session.execute(_new_totals(rollup), updates)
    await _delete_in(session, table.id, deletes)


@cache
def _new_totals(rollup: _Rollup) -> Any:
    """A rollup row's measures and count, by its id (`row`): Core, as for predictions."""
    table = rollup.table.__table__
    names = (*rollup.measures, "row_count")
    changed: dict[str, Any] = {name: bindparam(name) for name in names}
    return update(table).where(table.c.id == bindparam("row")).values(changed)


def _covering(table: Any, names: tuple[str, ...], keys: Collection[tuple[Any, ...]]) -> list[Any]:
    """Conditions, column by column, that the rows of all `keys` meet (and maybe a few more
    rows). A key's column may be NULL, which `IN` does not match."""
    conditions = []
    for i, name in enumerate(names):
        values = {key[i] for key in keys}
        column = getattr(table, name)
        known = column.in_(sorted(v for v in values if v is not None))
        conditions.append(or_(known, column.is_(None)) if None in values else known)
    return conditions


async def rebuild_all(session: AsyncSession) -> None:
    """Sum every per-conversation row into the rollups again, replacing the old ones."""
    for rollup in ROLLUPS:
        await session.execute(delete(rollup.table))
        columns = [*rollup.keys, *rollup.measures, "row_count"]
        await session.execute(insert(rollup.table).from_select(columns, _summed(rollup)))


# The satisfaction model in force


async def stored_model(session: AsyncSession) -> SatisfactionModel:
    """The model the stored predictions were made with (the prior until one is fitted)."""
    found = await session.get(ReportModel, 1)
    if found is None:
        model = prior_model()
        session.add(ReportModel(id=1, weights=model.weights, learned_from=0, rated_at_fit=0,
                                fitted_at=utcnow()))  # fmt: skip
        await session.flush()
        return model
    return SatisfactionModel(dict(found.weights), found.learned_from)


def refit_due(rated: int, rated_at_fit: int) -> bool:
    """Whether the rated conversations changed by REFIT_GROWTH since the last fit (by one at
    least). A refit predicts every conversation again (2.5 to 2.9 s for 30,000 on SQLite), so refits
    come ever less often as ratings accumulate: about 45 from 30 ratings to 2,000, where once
    every new rating below 2,000 brought one."""
    return abs(rated - rated_at_fit) >= max(REFIT_GROWTH * rated_at_fit, 1)


async def refit_if_due(session: AsyncSession, model: SatisfactionModel) -> bool:
    """Fit the model again when the ratings changed enough; returns whether predictions moved."""
    state = await session.get(ReportModel, 1)
    assert state is not None  # stored_model ran first
    rated = await session.scalar(
        select(func.count())
        .select_from(ReportConversation)
        .where(ReportConversation.rating.isnot(None))
    )
    if not refit_due(int(rated or 0), state.rated_at_fit):
        return False
    rows = await stored_rows(session)  # once: fitted to the rated ones, then all predicted
    fresh = fit_model([r for r in rows if r.rating is not None])
    state.rated_at_fit, state.fitted_at = int(rated or 0), utcnow()
    if fresh.weights == model.weights:
        return False
    state.weights, state.learned_from = fresh.weights, fresh.learned_from
    await repredict(session, fresh, rows)
    return True


_ROW_COLUMNS = select(
    *(getattr(ReportConversation, f.name) for f in fields(ConversationRow))
).order_by(ReportConversation.conversation_id)


async def stored_rows(session: AsyncSession, *where: Any) -> list[ConversationRow]:
    """The conversations' rows (those matching `where`, all without), by id, as the satisfaction
    model sees them. Read as rows, not ORM objects: building 30,000 objects took 3 s."""
    return [to_row(r) for r in await session.execute(_ROW_COLUMNS.where(*where))]


def to_row(r: Any) -> ConversationRow:
    """A stored row (an ORM object or a row of `_ROW_COLUMNS`) as the model sees it."""
    return ConversationRow(
        conversation_id=r.conversation_id,
        started_at=r.started_at,
        channel=r.channel,
        intent=r.intent,
        ticket_id=r.ticket_id,
        queue=r.queue,
        agent_id=r.agent_id,
        handed_off=bool(r.handed_off),
        resolved=bool(r.resolved),
        first_response_s=r.first_response_s,
        resolution_s=r.resolution_s,
        rating=r.rating,
        customer_messages=r.customer_messages,
        sentiment_start=r.sentiment_start,
        sentiment_end=r.sentiment_end,
    )


_NEW_PREDICTION = (
    update(_CONVERSATION_ROWS)
    .where(_CONVERSATION_ROWS.c.conversation_id == bindparam("conversation"))
    .values(predicted_micro=bindparam("micro"))
)


async def repredict(
    session: AsyncSession, model: SatisfactionModel, rows: list[ConversationRow]
) -> None:
    """Predict every conversation (`rows`: all of them, as stored) with `model` and rebuild
    every rollup. Core updates: the ORM's bulk update by primary key took two to five times as
    long."""
    for start in range(0, len(rows), BATCH):
        values = [
            {"conversation": r.conversation_id, "micro": micro(model.probability(r))}
            for r in rows[start : start + BATCH]
        ]
        await session.execute(_NEW_PREDICTION, values)
    await rebuild_all(session)


# Reading the dashboard's sums


async def stored_sums(session: AsyncSession, chosen: ReportFilter) -> Sums:
    """Answer every grouping of the dashboard from the rollups (whole days) and, for a period
    that starts inside a day, from that day's per-conversation rows after the start."""
    conversations = {
        name: await _grouped(session, _source(chosen, CONVERSATIONS), keys, MEASURES)
        for name, keys in CONVERSATION_GROUPS.items()
    }
    agents = {
        name: await _grouped(session, _source(chosen, AGENTS), keys, AGENT_MEASURES)
        for name, keys in AGENT_GROUPS.items()
    }
    return Sums(conversations, agents)


async def _grouped(
    session: AsyncSession, source: Any, keys: tuple[str, ...], measures: tuple[str, ...]
) -> Grouped:
    columns = [source.c[k] for k in keys]
    query = select(*columns, *(func.sum(source.c[m]) for m in measures)).group_by(*columns)
    result: Grouped = {}
    for found in await session.execute(query):
        values = list(found)
        key = tuple(_day(v) if k == "day" else v for k, v in zip(keys, values, strict=False))
        sums = values[len(keys) :]
        result[key] = {m: int(v or 0) for m, v in zip(measures, sums, strict=True)}
    return result


def _day(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _source(chosen: ReportFilter, rollup: _Rollup) -> Any:
    """The rows to sum for `chosen`, as one subquery with the same columns either way."""
    table, rows = rollup.table, rollup.rows

    def pick(source: Any) -> Select[Any]:
        columns = (*rollup.keys, *rollup.measures)
        return select(*(getattr(source, c) for c in columns)).where(
            *_matches(source, chosen, getattr(source, rollup.conversation_agent))
        )

    if chosen.until is not None:
        raise ValueError("stored reports take a period's start, not its end")
    if chosen.since is None:
        return pick(table).subquery()
    first = since_day(chosen.since)
    partial = pick(rows).where(rows.day == first, rows.started_at >= chosen.since)
    return union_all(pick(table).where(table.day > first), partial).subquery()


def _matches(table: Any, chosen: ReportFilter, agent_column: Any) -> list[Any]:
    """Conditions for the filter's queue, agent (the conversation's), channel and intent."""
    wanted = (
        (table.queue, chosen.queue),
        (agent_column, chosen.agent_id),
        (table.channel, chosen.channel),
        (table.intent, chosen.intent),
    )
    return [column == value for column, value in wanted if value is not None]


def since_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


# Reading conversations for the drill-down and the CSV


def conversations_query(chosen: ReportFilter) -> Select[Any]:
    table = ReportConversation
    conditions = _matches(table, chosen, table.agent_id)
    if chosen.since is not None:
        conditions.append(
            and_(table.day >= since_day(chosen.since), table.started_at >= chosen.since)
        )
    if chosen.until is not None:
        conditions.append(table.started_at < chosen.until)
    return select(table).where(*conditions).order_by(table.conversation_id)
