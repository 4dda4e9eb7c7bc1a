"""Property: whatever sequence of movements is attempted, each balance equals the sum of its
movements and never goes negative, and a refused movement leaves nothing behind."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from retail import errors
from retail.models import Movement, StockBalance
from tests.committing import inventory, shipments
from tests.factories import small_world

LOCATIONS = ("a", "b", "dc")
REFERENCES = itertools.count(1)
operations = st.lists(
    st.tuples(
        st.sampled_from(["receipt", "sale", "return", "write_off", "count", "demo_out", "demo_in", "transfer"]),
        st.sampled_from(LOCATIONS),
        st.integers(min_value=1, max_value=6),
        st.sampled_from(LOCATIONS),
    ),
    min_size=1, max_size=25,
)


def apply(session, world, op, where, quantity, other) -> None:
    loc = world[where].id
    if op == "receipt":
        inventory.receive_purchase(session, location_id=loc, sku="RK-CASE", quantity=quantity)
    elif op == "sale":
        inventory.record_sale(session, store_id=loc, sku="RK-CASE", quantity=quantity)
    elif op == "return":
        inventory.record_return(session, store_id=loc, sku="RK-CASE", quantity=quantity)
    elif op == "write_off":
        inventory.write_off(session, location_id=loc, sku="RK-CASE", quantity=quantity, reason="damaged")
    elif op == "count":
        inventory.adjust_count(session, location_id=loc, sku="RK-CASE", counted=quantity - 1, reason="count")
    elif op in ("demo_out", "demo_in"):
        inventory.move_demo(session, store_id=loc, sku="RK-CASE", quantity=quantity, to_display=op == "demo_out")
    elif op == "transfer" and other != where:
        shipment = shipments.ship(session, from_location_id=loc, to_location_id=world[other].id,
                                  lines=[shipments.Line("RK-CASE", quantity)], reference=f"SH-{next(REFERENCES)}")
        shipments.receive(session, shipment_id=shipment.id, received={})


def snapshot(session):
    movements = session.execute(select(func.count()).select_from(Movement)).scalar_one()
    balances = {(b.location_id, b.product_id): (b.on_hand, b.demo, b.in_transit)
                for b in session.execute(select(StockBalance).execution_options(populate_existing=True)).scalars()}
    return movements, balances


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_balances_equal_the_ledger_and_never_go_negative(database_url, ops):
    from sqlalchemy import text

    from retail.db import make_engine, new_session

    engine = make_engine(database_url)
    with new_session(engine) as session:
        # hypothesis reuses the fixture's database across examples: start each from empty tables
        for table in ("movement_serial", "movement", "shipment_line", "shipment", "stock_balance", "audit_log",
                      "serial_unit", '"user"', "location", "product", "brand"):
            session.execute(text(f"DELETE FROM {table}"))
        session.commit()
        world = small_world(session)
        for op in ops:
            before = snapshot(session)
            try:
                apply(session, world, *op)
            except (errors.InsufficientStock, errors.ShipmentClosed):
                session.rollback()
                assert snapshot(session) == before, f"refused {op} left something behind"
            fresh = select(StockBalance).execution_options(populate_existing=True)
            for balance in session.execute(fresh).scalars():
                assert balance.on_hand >= 0 and balance.demo >= 0 and balance.in_transit >= 0
                total = session.execute(select(func.coalesce(func.sum(Movement.quantity), 0)).where(
                    Movement.location_id == balance.location_id,
                    Movement.product_id == balance.product_id)).scalar_one()
                assert balance.on_hand == total
                demo = session.execute(select(func.coalesce(func.sum(Movement.quantity), 0)).where(
                    Movement.location_id == balance.location_id, Movement.product_id == balance.product_id,
                    Movement.kind.in_(["demo_in", "demo_out"]))).scalar_one()
                assert balance.demo == -demo
    engine.dispose()
