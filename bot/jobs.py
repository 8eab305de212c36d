"""Work the server does on a timer: SLA escalations and breaches, draining waiting tickets,
closing resolved tickets nobody came back to."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from actions.assignment import drain
from actions.lifecycle import close_resolved
from actions.sla import check_sla
from bot.engine import Engine
from storage.models import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tick:
    escalated: int
    breached: int
    assigned: int
    closed: int


async def tick(engine: Engine) -> Tick:
    """One round of periodic work, in one transaction whose changes reach the consoles live."""
    now = utcnow()
    async with engine.unit_of_work() as session:
        sla = await check_sla(session, now)
        assigned = await drain(session)
        closed = await close_resolved(
            session, now, engine.settings.routing.close_resolved_after_days
        )
    done = Tick(len(sla.escalated), len(sla.breached), len(assigned), len(closed))
    engine.metrics.sla_escalations.inc(done.escalated)
    engine.metrics.sla_breaches.inc(done.breached)
    engine.metrics.assignments.inc(done.assigned)
    return done


async def run_forever(engine: Engine, interval: float) -> None:
    while True:
        try:
            await tick(engine)
        except Exception:
            # a failed round is retried at the next one; the server keeps serving
            log.exception("periodic work failed")
        await asyncio.sleep(interval)
