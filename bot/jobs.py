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
from storage.models import utcnow

log = logging.getLogger(__name__)
REPORT_BATCH = 20_000  # conversations folded per round at most: a backlog takes several rounds


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
    async with engine.db.session() as session, session.begin():
        reports = await refresh(session, REPORT_BATCH)
    done = Tick(len(sla.escalated), len(sla.breached), len(assigned), len(closed), reports)
    engine.metrics.sla_escalations.inc(done.escalated)
    engine.metrics.sla_breaches.inc(done.breached)
    engine.metrics.assignments.inc(done.assigned)
    return done
