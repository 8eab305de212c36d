"""A sample business action: the status of an order in the demo shop's orders table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.errors import InvalidInput
from actions.record import BOT, Actor, record
from storage.models import Order

MAX_NUMBER = 32


@dataclass(frozen=True)
class OrderStatus:
    number: str
    status: str
    carrier: str | None
    tracking_number: str | None
    estimated_delivery: datetime | None


async def order_status(
    session: AsyncSession,
    number: str,
    *,
    customer_id: int | None = None,
    conversation_id: int | None = None,
    actor: Actor = BOT,
) -> OrderStatus | None:
    """The order's status; None when there is no such order, or it belongs to someone else
    (a customer only ever learns about their own orders). Every lookup is recorded."""
    clean = number.strip().lstrip("#").upper()
    if not clean or len(clean) > MAX_NUMBER:
        raise InvalidInput(f"an order number has 1 to {MAX_NUMBER} characters")
    order = await session.scalar(select(Order).where(Order.number == clean))
    if order is not None and customer_id is not None and order.customer_id != customer_id:
        order = None
    record(
        session,
        actor,
        "order_status",
        ("order", order.id if order else 0),
        event="order_status_lookup",
        conversation_id=conversation_id,
        payload={"number": clean, "found": order is not None},
    )
    if order is None:
        return None
    return OrderStatus(
        order.number, order.status, order.carrier, order.tracking_number, order.estimated_delivery
    )
