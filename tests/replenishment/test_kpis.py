"""The KPI formulas on a small hand-computed ledger."""

import numpy as np
import pandas as pd
import pytest

from forecasting import kpis

W1, W2 = pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-09")
COST = pd.Series({"A": 100.0, "B": 50.0})

# Two store x SKU cells over two weeks.
#   S1/A: opens 4, week 1 sells 2 (demand 2) ends 2; week 2 receives 1, sells 3 of demand 4, ends 0.
#   S2/B: opens 2, week 1 sells 0 ends 2; week 2 sells 1 ends 1.
PANEL = pd.DataFrame({
    "store": ["S1", "S1", "S2", "S2"],
    "sku": ["A", "A", "B", "B"],
    "week": [W1, W2, W1, W2],
    "opening": [4, 2, 2, 2],
    "received": [0, 1, 0, 0],
    "sold": [2, 3, 0, 1],
    "demand": [2, 4, 0, 1],
    "closing": [2, 0, 2, 1],
    "in_stock": [1.0, 0.75, 1.0, 1.0],
})


def test_cogs_is_units_sold_at_cost():
    assert kpis.cogs(PANEL, COST) == 5 * 100 + 1 * 50


def test_average_inventory_is_the_mean_of_week_end_inventories():
    # Week 1: 2*100 + 2*50 = 300; week 2: 0 + 1*50 = 50 -> 175 at cost; units (4 + 1) / 2 = 2.5.
    assert kpis.average_inventory(PANEL, COST) == 175.0
    assert kpis.average_inventory(PANEL) == 2.5


def test_turnover_is_cogs_over_average_inventory_at_cost():
    assert kpis.turnover(PANEL, COST, annualise=False) == pytest.approx(550 / 175)
    assert kpis.turnover(PANEL, COST) == pytest.approx(550 / 175 * 26)


def test_unit_fill_rate():
    assert kpis.unit_fill_rate(PANEL) == pytest.approx(6 / 7)


def test_sell_through_counts_opening_stock_and_receipts():
    # Sold 6 of (4 + 2 opening + 1 received).
    assert kpis.sell_through(PANEL) == pytest.approx(6 / 7)


def test_stockout_weeks_count_partial_weeks():
    assert kpis.stockout_weeks(PANEL) == 1


def test_weeks_of_cover():
    got = kpis.weeks_of_cover([4, 3, 0, 2], [2.0, 0.0, 0.0, 0.5])
    assert got[0] == 2.0 and np.isinf(got[1]) and got[2] == 0.0 and got[3] == 4.0


def test_aged_stock_is_stock_without_a_sale_in_90_days():
    as_of = pd.Timestamp("2026-06-01")
    balances = pd.DataFrame({"store": ["S1", "S1", "S2", "S3"], "sku": ["A", "B", "A", "A"],
                             "on_hand": [1, 2, 3, 0]})
    sales = pd.DataFrame({"store": ["S1", "S1", "S3"], "sku": ["A", "B", "A"],
                          "date": pd.to_datetime(["2026-05-01", "2026-02-01", "2026-01-01"]), "units": [1, 1, 1]})
    aged = kpis.aged_stock(balances, sales, as_of=as_of).set_index(["store", "sku"])
    # S1/B last sold 120 days before; S2/A never sold; S1/A sold 31 days ago; S3/A holds nothing.
    assert sorted(aged.index) == [("S1", "B"), ("S2", "A")]
    assert aged.loc[("S1", "B"), "days_since"] == 120
    assert pd.isna(aged.loc[("S2", "A"), "last_sale"])


def test_kpis_name_the_missing_column():
    with pytest.raises(ValueError, match="demand"):
        kpis.unit_fill_rate(PANEL.drop(columns="demand"))


def test_unknown_cost_is_refused():
    with pytest.raises(ValueError, match="unit_cost lacks"):
        kpis.cogs(PANEL, pd.Series({"A": 1.0}))
