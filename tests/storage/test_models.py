"""The models' constraints and column types behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError

from storage.database import Database
from storage.models import Conversation, Customer, Event, Message, Queue, Ticket


async def _conversation(db: Database) -> int:
    async with db.session() as session, session.begin():
        customer = Customer(display_name="Ana")
        session.add(customer)
        await session.flush()
        conversation = Conversation(customer_id=customer.id, channel="rest")
        session.add(conversation)
        await session.flush()
        return conversation.id


async def _queue(db: Database) -> int:
    async with db.session() as session, session.begin():
        queue = Queue(name="billing", skills=["billing"])
        session.add(queue)
        await session.flush()
        return queue.id


async def _count(db: Database, model: type[object]) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_message_external_id_is_stored_once_per_conversation(db: Database) -> None:
    conversation_id = await _conversation(db)
    async with db.session() as session, session.begin():
        session.add(
            Message(conversation_id=conversation_id, sender="customer", text="hi", external_id="m1")
        )

    with pytest.raises(IntegrityError):
        async with db.session() as session, session.begin():
            session.add(
                Message(
                    conversation_id=conversation_id,
                    sender="customer",
                    text="again",
                    external_id="m1",
                )
            )

    assert await _count(db, Message) == 1


async def test_external_id_may_repeat_across_conversations_and_be_absent(db: Database) -> None:
    first, second = await _conversation(db), await _conversation(db)
    async with db.session() as session, session.begin():
        session.add(Message(conversation_id=first, sender="customer", text="a", external_id="m1"))
        session.add(Message(conversation_id=second, sender="customer", text="b", external_id="m1"))
        session.add(Message(conversation_id=first, sender="bot", text="c"))
        session.add(Message(conversation_id=first, sender="bot", text="d"))

    assert await _count(db, Message) == 4


async def test_a_ticket_idempotency_key_is_unique(db: Database) -> None:
    conversation_id, queue_id = await _conversation(db), await _queue(db)

    def ticket() -> Ticket:
        return Ticket(
            conversation_id=conversation_id, idempotency_key="k", subject="s", queue_id=queue_id
        )

    async with db.session() as session, session.begin():
        session.add(ticket())
    with pytest.raises(IntegrityError):
        async with db.session() as session, session.begin():
            session.add(ticket())

    assert await _count(db, Ticket) == 1


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
        datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2023, 12, 31, 20, 0, tzinfo=timezone(timedelta(hours=-8))),
    ],
)
async def test_utc_datetime_round_trips_the_same_instant_as_utc(
    db: Database, moment: datetime
) -> None:
    async with db.session() as session, session.begin():
        customer = Customer(display_name="Ana", created_at=moment)
        session.add(customer)
        await session.flush()
        customer_id = customer.id

    async with db.session() as session:
        stored = await session.scalar(select(Customer.created_at).where(Customer.id == customer_id))

    assert stored == moment
    assert stored is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored.replace(tzinfo=None) == moment.astimezone(UTC).replace(tzinfo=None)


async def test_utc_datetime_orders_instants_not_wall_clocks(db: Database) -> None:
    early = datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=9)))  # 03:00 UTC
    late = datetime(2024, 1, 1, 4, 0, tzinfo=UTC)
    async with db.session() as session, session.begin():
        session.add_all(
            [
                Customer(display_name="late", created_at=late),
                Customer(display_name="early", created_at=early),
            ]
        )

    async with db.session() as session:
        names = list(
            await session.scalars(select(Customer.display_name).order_by(Customer.created_at))
        )
        after = list(
            await session.scalars(
                select(Customer.display_name).where(
                    Customer.created_at > datetime(2024, 1, 1, 3, 30, tzinfo=UTC)
                )
            )
        )

    assert names == ["early", "late"]
    assert after == ["late"]


async def test_utc_datetime_refuses_naive_datetimes(db: Database) -> None:
    naive = datetime(2024, 1, 1, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(StatementError, match="naive datetime"):
        async with db.session() as session, session.begin():
            session.add(Customer(display_name="Ana", created_at=naive))

    assert await _count(db, Customer) == 0


async def test_default_timestamps_are_aware_utc(db: Database) -> None:
    before = datetime.now(UTC)
    await _conversation(db)
    async with db.session() as session:
        created = await session.scalar(select(Customer.created_at))

    assert created is not None
    assert created.utcoffset() == timedelta(0)
    assert before <= created <= datetime.now(UTC)


async def test_json_columns_round_trip(db: Database) -> None:
    conversation_id = await _conversation(db)
    entities = [
        {"entity": "order_id", "value": "A-17", "start": 3, "end": 7, "confidence": 0.875},
        {"entity": "city", "value": "São Paulo — 東京", "extra": None, "tags": ["x", 1, True]},
    ]
    sentiment = {"label": "negative", "compound": -0.5, "scores": {"neg": 0.6, "pos": 0.0}}
    extras = {"buttons": [{"title": "Yes", "payload": '/affirm{"x": 1}'}], "citations": []}
    payload = {"nested": {"list": [1, 2.5, None, "three"]}, "flag": False}
    async with db.session() as session, session.begin():
        message = Message(
            conversation_id=conversation_id,
            sender="customer",
            text="hi",
            entities=entities,
            sentiment=sentiment,
            extras=extras,
        )
        session.add_all(
            [message, Event(type="test", payload=payload), Queue(name="tech", skills=["a", "b"])]
        )

    async with db.session() as session:
        stored = await session.scalar(select(Message))
        event = await session.scalar(select(Event))
        skills = await session.scalar(select(Queue.skills).where(Queue.name == "tech"))

    assert stored is not None
    assert event is not None
    assert (stored.entities, stored.sentiment, stored.extras) == (entities, sentiment, extras)
    assert event.payload == payload
    assert skills == ["a", "b"]
