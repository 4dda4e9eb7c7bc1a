"""Same-city transfers when the expected gain beats the transfer cost."""

import pandas as pd

from forecasting.replenishment import apply_transfers, plan_orders, propose_transfers
from forecasting.replenishment.cover import cover_demand
from tests.replenishment.helpers import MONDAY, forecast_frame, products_frame


def _world(donor_mean, taker_mean, donor_stock, city_of_taker="Chengdu"):
    fc = forecast_frame({("S1", "A"): [donor_mean] * 8, ("S2", "A"): [taker_mean] * 8})
    pos = pd.DataFrame({"store": ["S1", "S2"], "sku": ["A", "A"], "on_hand": [donor_stock, 0]})
    products = products_frame()
    lines = plan_orders(fc, pos, as_of=MONDAY, products=products)
    horizon = cover_demand(fc, as_of=MONDAY, cover_weeks=8)
    stores = pd.DataFrame({"store": ["S1", "S2"], "city": ["Chengdu", city_of_taker]})
    return lines, horizon, stores, products


def test_excess_moves_to_the_store_that_will_run_out():
    lines, horizon, stores, products = _world(0.01, 1.0, donor_stock=5)
    out = propose_transfers(lines, horizon, stores=stores, products=products, transfer_cost=40)
    assert len(out) == 1
    row = out.iloc[0]
    assert (row.from_store, row.to_store) == ("S1", "S2")
    donor = lines.set_index("store").loc["S1"]
    assert row.units <= donor.on_hand - max(donor.order_up_to, donor.display_min)  # keeps its own target
    assert row.expected_gain > 0


def test_no_transfer_between_cities():
    lines, horizon, stores, products = _world(0.01, 1.0, donor_stock=5, city_of_taker="Wuhan")
    assert propose_transfers(lines, horizon, stores=stores, products=products).empty


def test_no_transfer_when_the_cost_exceeds_the_gain():
    lines, horizon, stores, products = _world(0.01, 1.0, donor_stock=5)
    # Margin 400: even a sure sale gains at most 400.
    assert propose_transfers(lines, horizon, stores=stores, products=products, transfer_cost=401).empty


def test_transfers_reduce_the_receivers_dc_order():
    lines, horizon, stores, products = _world(0.01, 1.0, donor_stock=5)
    out = propose_transfers(lines, horizon, stores=stores, products=products)
    netted = apply_transfers(lines, out).set_index("store")
    before = lines.set_index("store")
    moved = int(out["units"].sum())
    assert netted.loc["S2", "order_units"] == max(before.loc["S2", "order_units"] - moved, 0)
    assert netted.loc["S1", "proposed_out"] == moved
