"""Work the server does on a timer: SLA escalations and breaches, draining waiting tickets,
closing resolved tickets nobody came back to, and keeping the report rollups up to date."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from actions.assignment import drain
from actions.lifecycle import close_resolved
from actions.sla import check_sla
from bot.engine import Engine
from bot.report_store import refresh
from storage.database import Database
from storage.models import utcnow

log = logging.getLogger(__name__)
REPORT_SLICE = 100  # changed conversations folded per transaction
REPORT_BATCH = 20_000  # per tick at most: a backlog takes several ticks


@dataclass(frozen=True)
class Tick:
    escalated: int
    breached: int
    assigned: int
    closed: int
    reports: int = 0  # conversations whose report rows and rollups were recomputed


async def tick(engine: Engine) -> Tick:
    """One round of periodic work, in one transaction whose changes reach the consoles live."""
    now = utcnow()
    async with engine.unit_of_work() as session:
        sla = await check_sla(session, now)
        assigned = await drain(session)
        closed = await close_resolved(
            session, now, engine.settings.routing.close_resolved_after_days
        )
    reports = await refresh_reports(engine.db)
    done = Tick(len(sla.escalated), len(sla.breached), len(assigned), len(closed), reports)
    engine.metrics.sla_escalations.inc(done.escalated)
    engine.metrics.sla_breaches.inc(done.breached)
    engine.metrics.assignments.inc(done.assigned)
    return done


async def refresh_reports(db: Database) -> int:
    """Fold up to REPORT_BATCH changed conversations into the reports, REPORT_SLICE to a
    transaction, each queued with the turns' writes (`Database.writing`). On SQLite a refresh
    holds the one writer; as the rollups move by differences, a slice costs what it folds, so a
    turn waits for one slice rather than for the whole refresh."""
    folded = 0
    while folded < REPORT_BATCH:
        async with db.writing(), db.session() as session, session.begin():
            done = await refresh(session, REPORT_SLICE)
        folded += done
        if done < REPORT_SLICE:
            break
    return folded
