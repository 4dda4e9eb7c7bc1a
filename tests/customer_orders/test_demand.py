"""Customer orders are demand, in the week they were placed: the forecasting input (exports.forecasting_frames)
counts an order handed over (or still open) as units sold that week and not again in the week of its hand-over
sale, and a cancelled order as a missed sale of that week. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from retail.services import customer_orders as co
from retail.services import exports
from tests.committing import inventory
from tests.customer_orders.world import build

# Shanghai time: placed on Tuesday 3 November 2026 (week of Monday 2 November), handed over on Wednesday 11
# November (week of Monday 9 November).
PLACED = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
SHIPPED = datetime(2026, 11, 4, 3, 0, tzinfo=UTC)
ARRIVED = datetime(2026, 11, 5, 3, 0, tzinfo=UTC)
HANDED = datetime(2026, 11, 11, 3, 0, tzinfo=UTC)
WEEK_PLACED, WEEK_HANDED = pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-09")


@pytest.fixture
def world(session):
    world = build(session)
    inventory.receive_purchase(session, location_id=world["c"].id, sku="RK-CASE", quantity=10, reference="PO-CASE",
                               at=datetime(2026, 10, 1, tzinfo=UTC))
    return world


def order(session, world, quantity, ref):
    return co.place(session, world["staff"], store_id=world["a"].id, sku="RK-CASE", quantity=quantity,
                    promised_date=datetime.now(UTC).date(), customer_ref=ref, at=PLACED)


def case_rows(engine) -> pd.DataFrame:
    sales = exports.forecasting_frames(engine)["sales"]
    return sales[(sales["store"] == "S0001") & (sales["sku"] == "RK-CASE")].set_index("week")


def test_an_order_counts_once_in_the_week_it_was_placed(session, engine, world):
    a, c = world["a"].id, world["c"].id
    handed = order(session, world, 2, "HANDED")
    co.ship(session, world["staff_c"], store_id=c, order_id=handed.id, at=SHIPPED)
    co.arrive(session, world["staff"], store_id=a, order_id=handed.id, at=ARRIVED)
    before = case_rows(engine)
    assert before.loc[WEEK_PLACED, "units"] == 2  # open: already the week's demand
    co.hand_over(session, world["staff"], store_id=a, order_id=handed.id, at=HANDED)
    open_order = order(session, world, 1, "OPEN")
    cancelled = order(session, world, 3, "CANCELLED")
    co.cancel(session, world["staff"], store_id=a, order_id=cancelled.id)
    assert open_order.state == "sourced"

    rows = case_rows(engine)
    assert rows.loc[WEEK_PLACED, "units"] == 2 + 1  # handed over + still open
    assert rows.loc[WEEK_PLACED, "missed"] == 3  # the cancelled order
    assert rows.loc[WEEK_PLACED, "in_stock"] == 1.0
    assert WEEK_HANDED not in rows.index or rows.loc[WEEK_HANDED, "units"] == 0  # the hand-over sale not again
    assert rows["units"].sum() == 3 and rows["missed"].sum() == 3
    # the ledger itself still has the sale, in the week of the hand-over
    ledger = exports.read_world(engine).movements
    sale = ledger[(ledger["location"] == "S0001") & (ledger["kind"] == exports.CUSTOMER_ORDER_SALE)]
    assert sale["quantity"].tolist() == [-2]


def test_without_customer_orders_the_export_is_unchanged(session, engine, world):
    inventory.record_sale(session, store_id=world["c"].id, sku="RK-CASE", quantity=1, at=HANDED)
    world_read = exports.read_world(engine)
    assert world_read.customer_orders.empty
    plain = exports.export_frames(world_read)["sales"]
    world_read.customer_orders = None
    pd.testing.assert_frame_equal(plain, exports.export_frames(world_read)["sales"])
