"""Stock KPIs, computed one way in one place: the simulation, dashboards, API and emails call these.

The common input is a weekly stock panel, one row per store x SKU x week:

    store, sku, week, sold (units), closing (sellable units on hand at the end of the week),
    and, for some KPIs, opening, received, demand, in_stock (0..1 of the week in stock).

Costs come from `unit_cost`, a Series indexed by SKU (the cost of goods at which stock is
valued). Definitions:

- turnover: cost of goods sold / average inventory at cost, where the average is the mean
  of the week-end inventories at cost; annualised (x 52 / weeks) unless annualise=False.
- weeks of cover: units on hand / expected (or recent average) weekly demand.
- sell-through: units sold / (units on hand in the first week + units received) over the period.
- unit fill rate: units sold / units demanded.
- stockout weeks: store x SKU weeks with in_stock < 1 (the SKU was missing part of the week).
- aged stock: units on hand at a store x SKU with no sale in the last 90 days (or never).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AGED_DAYS = 90


def _need(panel: pd.DataFrame, columns, kpi: str) -> None:
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise ValueError(f"{kpi} needs panel columns {missing}")


def _cost(panel: pd.DataFrame, unit_cost: pd.Series) -> np.ndarray:
    cost = panel["sku"].map(unit_cost)
    if cost.isna().any():
        raise ValueError(f"unit_cost lacks {sorted(panel.loc[cost.isna(), 'sku'].unique())[:5]}: give every SKU a cost")
    return cost.to_numpy(dtype=float)


def cogs(panel: pd.DataFrame, unit_cost: pd.Series) -> float:
    _need(panel, ["sku", "sold"], "cogs")
    return float((panel["sold"].to_numpy(dtype=float) * _cost(panel, unit_cost)).sum())


def average_inventory(panel: pd.DataFrame, unit_cost: pd.Series | None = None) -> float:
    """Mean over the weeks of the network's week-end inventory (at cost, or in units without costs)."""
    _need(panel, ["week", "closing"], "average_inventory")
    if panel.empty:
        return 0.0
    value = panel["closing"].to_numpy(dtype=float)
    if unit_cost is not None:
        value = value * _cost(panel, unit_cost)
    # The mean of the weekly totals is the grand total over the number of weeks.
    return float(value.sum() / panel["week"].nunique())


def turnover(panel: pd.DataFrame, unit_cost: pd.Series, *, annualise: bool = True) -> float:
    """COGS / average inventory at cost (x 52 / weeks when annualised); nan without inventory."""
    avg = average_inventory(panel, unit_cost)
    if avg <= 0:
        return float("nan")
    weeks = panel["week"].nunique()
    return float(turnover_rate(cogs(panel, unit_cost), avg * weeks, weeks, annualise=annualise))


def turnover_rate(cogs_value, inventory_weeks_value, weeks, *, annualise: bool = True):
    """Elementwise `turnover` of many panels at once (the dashboard's segments), from their sums: cost of goods
    sold, the sum over the weeks of the week-end inventory at cost, and the number of weeks; nan without
    inventory."""
    cogs_value, total, weeks = (np.asarray(v, dtype=float) for v in (cogs_value, inventory_weeks_value, weeks))
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(weeks > 0, total / np.where(weeks > 0, weeks, 1), 0.0)
        out = np.where(avg > 0, cogs_value / np.where(avg > 0, avg, 1) * (52.0 / weeks if annualise else 1.0), np.nan)
    return out if out.ndim else float(out)


def weeks_of_cover(on_hand, weekly_demand):
    """Units on hand / weekly demand; inf where there is stock and no demand, 0 where neither."""
    on_hand = np.asarray(on_hand, dtype=float)
    rate = np.asarray(weekly_demand, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(rate > 0, on_hand / np.where(rate > 0, rate, 1), np.where(on_hand > 0, np.inf, 0.0))
    return out if out.ndim else float(out)


def sell_through(panel: pd.DataFrame) -> float:
    """Units sold / (units on hand at the start of the period + units received in it)."""
    _need(panel, ["week", "sold", "opening", "received"], "sell_through")
    first = panel["week"] == panel["week"].min()
    return float(sell_through_rate(panel["sold"].sum(), panel.loc[first, "opening"].sum(), panel["received"].sum()))


def sell_through_rate(sold, opening, received):
    """Elementwise `sell_through` from sums: units sold / (opening units of the first week + units received)."""
    sold, available = np.asarray(sold, dtype=float), np.asarray(opening, dtype=float) + np.asarray(received, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(available > 0, sold / np.where(available > 0, available, 1), np.nan)
    return out if out.ndim else float(out)


def unit_fill_rate(panel: pd.DataFrame) -> float:
    """Units sold / units demanded (nan without demand)."""
    _need(panel, ["sold", "demand"], "unit_fill_rate")
    return float(fill_rate(panel["sold"].sum(), panel["demand"].sum()))


def fill_rate(sold, demand):
    """Elementwise `unit_fill_rate` from sums: units sold / units demanded (nan without demand)."""
    sold, demand = np.asarray(sold, dtype=float), np.asarray(demand, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(demand > 0, sold / np.where(demand > 0, demand, 1), np.nan)
    return out if out.ndim else float(out)


def stockout_weeks(panel: pd.DataFrame) -> int:
    """Store x SKU weeks in which the SKU was out of stock for part of the week (in_stock < 1)."""
    _need(panel, ["in_stock"], "stockout_weeks")
    return int(is_stockout(panel["in_stock"]).sum())


def is_stockout(in_stock):
    """Elementwise: the store x SKU week was out of stock for part of the week (in_stock < 1). The one
    definition `stockout_weeks` counts and a precomputed (dashboard) panel adds up by segment."""
    return np.asarray(in_stock, dtype=float) < 1.0 - 1e-9


def aged_stock(balances: pd.DataFrame, sales: pd.DataFrame, *, as_of, days: int = AGED_DAYS) -> pd.DataFrame:
    """Store x SKU cells holding units with no sale in the `days` before `as_of` (or never).

    balances: store, sku, on_hand. sales: store, sku, and `date` or `week` (the Monday of the
    week of a sale; a weekly sale counts as made on the Sunday ending its week), units.
    Returns store, sku, on_hand, last_sale (NaT if never), days_since (nan if never).
    """
    as_of = pd.Timestamp(as_of)
    _need(balances, ["store", "sku", "on_hand"], "aged_stock")
    sold = sales[sales["units"] > 0] if "units" in sales.columns else sales
    when = pd.to_datetime(sold["date"]) if "date" in sold.columns else pd.to_datetime(sold["week"]) + pd.Timedelta(days=6)
    last = when[when < as_of].groupby([sold["store"], sold["sku"]]).max().rename("last_sale")
    last.index.names = ["store", "sku"]
    out = balances[balances["on_hand"] > 0][["store", "sku", "on_hand"]].merge(
        last.reset_index(), on=["store", "sku"], how="left")
    out["days_since"] = (as_of - out["last_sale"]).dt.days
    return out[is_aged(out["on_hand"], out["days_since"], days=days)].reset_index(drop=True)


def is_aged(on_hand, days_since_last_sale, *, days: int = AGED_DAYS):
    """Elementwise: units on hand and no sale for `days` days (a never-sold SKU has nan days: aged).
    The one definition `aged_stock` applies to frames and a store's page to its lines."""
    on_hand = np.asarray(on_hand, dtype=float)
    since = np.asarray(days_since_last_sale, dtype=float)
    with np.errstate(invalid="ignore"):
        return (on_hand > 0) & (np.isnan(since) | (since >= days))


def expected_interval_days(units_sold, window_days: float):
    """Elementwise: the expected number of days between two sales of a store x SKU, from the units it sold
    over the last `window_days`; no sale in the window reads as one sale per window (the longest interval
    the window can tell)."""
    units = np.asarray(units_sold, dtype=float)
    return float(window_days) / np.maximum(units, 1.0)


def is_aging(on_hand, days_since_last_sale, interval_days, *, days: int = AGED_DAYS):
    """Elementwise: units on hand and no sale for longer than the SKU's expected interval between sales
    at the store, and never for less than `days` (a SKU that sells once a year is not aging four months
    after its sale; one that sold every week and stopped for 90 days is). Never sold (nan days): aging.
    What a store's shelf page calls aging; `is_aged` stays the network KPI of a fixed 90 days."""
    interval = np.maximum(np.asarray(interval_days, dtype=float), float(days))
    on_hand = np.asarray(on_hand, dtype=float)
    since = np.asarray(days_since_last_sale, dtype=float)
    with np.errstate(invalid="ignore"):
        return (on_hand > 0) & (np.isnan(since) | (since > interval))


def summary(panel: pd.DataFrame, unit_cost: pd.Series) -> dict:
    """The KPIs of a simulated or recorded period in one dict (what the simulation reports)."""
    out = {
        "turnover": turnover(panel, unit_cost),
        "avg_inventory_units": average_inventory(panel),
        "avg_inventory_cost": average_inventory(panel, unit_cost),
        "cogs": cogs(panel, unit_cost),
        "units_sold": int(panel["sold"].sum()),
    }
    if "demand" in panel.columns:
        out["fill_rate"] = unit_fill_rate(panel)
        out["units_demanded"] = int(panel["demand"].sum())
    if "in_stock" in panel.columns:
        out["stockout_weeks"] = stockout_weeks(panel)
    if {"opening", "received"}.issubset(panel.columns):
        out["sell_through"] = sell_through(panel)
    return out
