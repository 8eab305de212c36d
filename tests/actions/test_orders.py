"""The order-status lookup: found, not found, someone else's order; every lookup recorded."""

from __future__ import annotations

import pytest

from actions.errors import InvalidInput
from actions.orders import order_status
from storage.database import Database
from storage.models import Customer, Order
from tests.actions.support import read_events


async def test_order_status_lookup(db: Database) -> None:
    async with db.session() as session, session.begin():
        ana, bob = Customer(display_name="Ana"), Customer(display_name="Bob")
        session.add_all([ana, bob])
        await session.flush()
        session.add(Order(number="A-1001", customer_id=ana.id, status="shipped", carrier="DHL"))
        ana_id, bob_id = ana.id, bob.id

    async with db.session() as session, session.begin():
        found = await order_status(session, " #a-1001 ", customer_id=ana_id)
        missing = await order_status(session, "A-9999")
        not_bobs = await order_status(session, "A-1001", customer_id=bob_id)
        with pytest.raises(InvalidInput):
            await order_status(session, "  ")

    assert found is not None and (found.status, found.carrier) == ("shipped", "DHL")
    assert (missing, not_bobs) == (None, None)
    lookups = await read_events(db, "order_status_lookup")
    assert [e.payload["found"] for e in lookups] == [True, False, False]
