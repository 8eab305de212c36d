"""Prometheus metrics: requests, messages, NLU and KB timings, queue depths, SLA and routing work.
One registry per application, so several apps in one process (tests) never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Queue, Ticket

FAST = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "helpline_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "helpline_http_request_seconds",
            "HTTP request time",
            ["route"],
            buckets=FAST,
            registry=r,
        )
        self.messages = Counter(
            "helpline_messages", "Customer messages handled", ["channel"], registry=r
        )
        self.nlu_seconds = Histogram(
            "helpline_nlu_parse_seconds", "NLU parse time", buckets=FAST, registry=r
        )
        self.kb_seconds = Histogram(
            "helpline_kb_answer_seconds", "Knowledge-base answer time", buckets=FAST, registry=r
        )
        self.waiting = Gauge(
            "helpline_queue_waiting_tickets", "Tickets waiting for an agent", ["queue"], registry=r
        )
        self.open = Gauge(
            "helpline_queue_open_tickets",
            "Tickets assigned and not resolved",
            ["queue"],
            registry=r,
        )
        self.assignments = Counter(
            "helpline_assignments", "Tickets assigned by the periodic routing", registry=r
        )
        self.sla_escalations = Counter(
            "helpline_sla_escalations", "SLA clocks escalated before a breach", registry=r
        )
        self.sla_breaches = Counter("helpline_sla_breaches", "SLA clocks breached", registry=r)
        self.parse_restarts = Gauge(
            "helpline_parse_process_restarts",
            "Parse processes started after one died",
            registry=r,
        )

    async def exposition(self, session: AsyncSession) -> bytes:
        """The text format, with queue depths read from the database now."""
        rows = await session.execute(
            select(Queue.name, Ticket.status, func.count(Ticket.id))
            .join(Ticket, Ticket.queue_id == Queue.id)
            .where(Ticket.status.in_(("new", "open")))
            .group_by(Queue.name, Ticket.status)
        )
        counts = {(name, status): n for name, status, n in rows}
        for (name,) in (await session.execute(select(Queue.name))).all():
            self.waiting.labels(name).set(counts.get((name, "new"), 0))
            self.open.labels(name).set(counts.get((name, "open"), 0))
        return generate_latest(self.registry)
