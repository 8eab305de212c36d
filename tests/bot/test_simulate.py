"""The simulated history goes through the real engine and actions, on a simulated clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.components import Components
from bot.reporting import load_report
from bot.simulate import holds_real_conversations, simulate
from nlu.training_data import read_training_data
from scoring import ReportFilter
from storage.models import Conversation, CsatResponse, Event, utcnow
from tests.bot.conftest import Client


async def test_a_month_of_history_through_the_real_engine(components: Components) -> None:
    settings = components.settings
    data = read_training_data(settings.resolve(settings.nlu.training_data))
    done = await simulate(components.engine, data, days=10, conversations=40, seed=5)
    assert done.conversations == 40 and 0 < done.handoffs < 40 and 0 < done.ratings <= done.handoffs
    async with components.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 40
        assert await session.scalar(select(func.count()).select_from(CsatResponse)) == done.ratings
        first, last = (
            await session.execute(select(func.min(Event.created_at), func.max(Event.created_at)))
        ).one()
        report, _ = await load_report(session, ReportFilter())
    assert timedelta(days=5) < last - first < timedelta(days=11)  # spread over the period
    assert last <= utcnow() + timedelta(hours=2)
    assert report.bot.conversations == 40 and report.bot.handed_off == done.handoffs
    assert report.quality.summary.ratings == done.ratings
    assert report.quality.summary.first_response_avg_s is not None
    assert report.quality.summary.first_response_avg_s > 60  # simulated waits, not test speed


async def test_real_conversations_are_recognised(client: Client, components: Components) -> None:
    assert not await holds_real_conversations(components.engine)
    await client.post("/webhooks/rest/webhook", json={"sender": "alice", "message": "hi"})
    assert await holds_real_conversations(components.engine)
