"""Reports with filters, the conversations behind the numbers, and the CSV export."""

from __future__ import annotations

import csv
import io
import re

from tests.bot.conftest import Client, login

WEBHOOK = "/webhooks/rest/webhook"


async def _rated_billing_conversation(client: Client, rating: str) -> None:
    await client.post(
        WEBHOOK, json={"sender": "r", "message": "how long does shipping to Germany take?"}
    )
    await client.post(
        WEBHOOK, json={"sender": "r", "message": "I was charged twice, I want a refund"}
    )
    csrf = await login(client, "ada")
    headers = {"X-CSRF-Token": csrf}
    ticket = (await (await client.get("/api/console/tickets?view=mine")).json())["tickets"][0]
    await client.post(
        f"/api/console/tickets/{ticket['id']}/messages", json={"text": "Done."}, headers=headers
    )
    await client.post(f"/api/console/tickets/{ticket['id']}/resolve", headers=headers)
    reply = await (await client.post(WEBHOOK, json={"sender": "r", "message": rating})).json()
    assert reply[0]["text"] == "Thank you for your feedback!"
    await client.post(
        WEBHOOK, json={"sender": "s", "message": "how long does shipping to Germany take?"}
    )
    client.session.cookie_jar.clear()


async def test_the_report_follows_its_filters(client: Client, users: dict[str, int]) -> None:
    await _rated_billing_conversation(client, "5")
    await login(client, "sam")
    page = await (await client.get("/reports")).text()
    assert 'data-testid="report-csat">100%' in page
    assert ">2</a>" in page  # two conversations, one of them contained
    assert 'data-testid="report-containment">50%' in page
    assert re.search(r'data-testid="report-predicted">\d+%', page)
    # 4 customer messages: r's shipping question, refund and bare rating "5" (no intent), s's
    # shipping question; both shipping questions answered from the KB; 1 survey, 1 rating
    bot = re.findall(r'data-testid="report-(\S+-rate)">([^<]*)<', page)
    assert dict(bot) == {
        "response-rate": "100%",
        "handoff-rate": "50%",
        "kb-answer-rate": "50%",
        "fallback-rate": "25%",
    }
    performance = page[page.index('data-testid="performance-table"') :]
    assert ">Ada</a>" in performance and "100%" in performance  # assigned one, resolved it
    orders = await (await client.get("/reports?queue=orders")).text()
    assert 'data-testid="report-csat">—' in orders
    ada = await (await client.get(f"/reports?agent={users['ada']}")).text()
    assert 'data-testid="report-csat">100%' in ada


async def test_drill_down_and_csv_list_the_conversations(
    client: Client, users: dict[str, int]
) -> None:
    await _rated_billing_conversation(client, "2")
    await login(client, "sam")
    listing = await (await client.get("/reports/conversations?queue=billing")).text()
    assert listing.count('data-testid="conversation-row"') == 1
    export = await client.get("/reports/export.csv")
    assert export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await export.text())))
    assert len(rows) == 2
    handled = next(r for r in rows if r["handed_off"] == "1")
    assert (handled["queue"], handled["agent"], handled["rating"], handled["resolved"]) == (
        "billing",
        "Ada",
        "2",
        "1",
    )
    assert handled["intent"] == "shipping_info"
    assert all(0 < float(r["predicted_satisfaction"]) < 1 for r in rows)
    assert float(handled["resolution_s"]) >= 0


async def test_report_input_errors_and_access(client: Client, users: dict[str, int]) -> None:
    await login(client, "ada")
    assert (await client.get("/reports/export.csv")).status == 403
    assert (await client.get("/reports/conversations")).status == 403
    client.session.cookie_jar.clear()
    await login(client, "sam")
    bad = await client.get("/reports?period=forever")
    assert bad.status == 400 and "7d" in await bad.text()
    assert (await client.get("/reports?agent=x")).status == 400


async def test_customer_mood_reaches_the_event_log(client: Client, components: object) -> None:
    from sqlalchemy import select  # noqa: PLC0415

    from storage.models import Event  # noqa: PLC0415

    await client.post(WEBHOOK, json={"sender": "m", "message": "This is terrible, I am furious!"})
    db = components.db  # type: ignore[attr-defined]
    async with db.session() as session:
        events = list(
            await session.scalars(select(Event).where(Event.type == "message_from_customer"))
        )
    assert events[0].payload["sentiment"] < -0.5


async def test_conversation_score_page_explains_the_prediction(
    client: Client, users: dict[str, int], components: object
) -> None:
    from sqlalchemy import select  # noqa: PLC0415

    from storage.models import Ticket  # noqa: PLC0415

    await client.post(
        WEBHOOK, json={"sender": "x", "message": "I was charged twice <script>alert(1)</script>"}
    )
    csrf = await login(client, "ada")
    headers = {"X-CSRF-Token": csrf}
    ticket = (await (await client.get("/api/console/tickets?view=mine")).json())["tickets"][0]
    await client.post(
        f"/api/console/tickets/{ticket['id']}/messages", json={"text": "Refunded."}, headers=headers
    )
    await client.post(f"/api/console/tickets/{ticket['id']}/resolve", headers=headers)
    await client.post(WEBHOOK, json={"sender": "x", "message": "2"})
    client.session.cookie_jar.clear()
    db = components.db  # type: ignore[attr-defined]
    async with db.session() as session:
        found = await session.scalar(select(Ticket).where(Ticket.id == ticket["id"]))
        assert found is not None
        conversation = found.conversation_id
    await login(client, "sam")
    listing = await (await client.get("/reports/conversations?queue=billing")).text()
    assert f'href="/reports/conversations/{conversation}?' in listing
    page = await (await client.get(f"/reports/conversations/{conversation}?queue=billing")).text()
    assert 'data-testid="metric-queue">billing' in page
    assert 'data-testid="metric-agent">Ada' in page
    assert 'data-testid="metric-handoffs">1' in page
    assert 'data-testid="metric-transfers">0' in page
    assert 'data-testid="metric-rating">2' in page
    assert re.search(r'data-testid="conversation-predicted">\d+%', page)
    assert "the conversation ended resolved" in page and "raises" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert "Refunded." in page
    assert 'href="/reports/conversations?queue=billing"' in page
    missing = await client.get("/reports/conversations/999999")
    assert missing.status == 404
    assert (await client.get("/reports/conversations/abc")).status in (400, 404)


async def test_intent_filter_on_the_dashboard_drill_down_and_csv(
    client: Client, users: dict[str, int]
) -> None:
    await client.post(WEBHOOK, json={"sender": "b", "message": "I was charged twice, refund me"})
    await client.post(
        WEBHOOK, json={"sender": "s", "message": "how long does shipping to Germany take?"}
    )
    await login(client, "sam")
    page = await (await client.get("/reports?intent=shipping_info")).text()
    assert '<option value="shipping_info" selected>' in page
    assert 'data-testid="report-containment">100%' in page  # the shipping question alone
    listing = await (await client.get("/reports/conversations?intent=shipping_info")).text()
    assert listing.count('data-testid="conversation-row"') == 1
    export = await (await client.get("/reports/export.csv?intent=shipping_info")).text()
    rows = list(csv.DictReader(io.StringIO(export)))
    assert [r["intent"] for r in rows] == ["shipping_info"]
    everything = list(
        csv.DictReader(io.StringIO(await (await client.get("/reports/export.csv")).text()))
    )
    assert len(everything) == 2


async def test_trend_charts_are_inline_svg(client: Client, users: dict[str, int]) -> None:
    await _rated_billing_conversation(client, "4")
    await login(client, "sam")
    page = await (await client.get("/reports?period=7d")).text()
    trends = page[page.index('data-testid="report-trends"') :]
    for chart in ("trend-satisfaction", "trend-service", "trend-intents", "trend-channels"):
        figure = trends[trends.index(f'data-testid="chart-{chart}"') :]
        assert figure.index("<svg") < figure.index("</figure>"), chart
    assert "per day" in trends and "shipping_info" in trends
    assert 'data-testid="report-sla-met">100%' in page
    assert "src=" not in trends
