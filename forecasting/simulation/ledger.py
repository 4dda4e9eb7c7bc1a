"""One policy's weekly stock panel during the replay, the week's sales, and the KPIs both policies are measured by."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting import kpis
from forecasting.simulation.world import World


class Ledger:
    """Weekly stock panel of one policy, as numpy arrays until the end."""

    def __init__(self, n: int, weeks: int):
        self.cols = {c: np.zeros((n, weeks), np.int64) for c in ("opening", "received", "sold", "demand", "closing")}
        self.in_stock = np.ones((n, weeks))
        self.transferred = 0

    def panel(self, world: World) -> pd.DataFrame:
        n, weeks = world.demand.shape
        keep = (world.active | (self.cols["closing"] > 0) | (self.cols["opening"] > 0)).ravel()
        sku_codes, sku_names = pd.factorize(world.sku)
        store_codes, store_names = pd.factorize(world.store)
        frame = pd.DataFrame({
            "store": pd.Categorical.from_codes(np.repeat(store_codes, weeks)[keep], categories=store_names),
            "sku": pd.Categorical.from_codes(np.repeat(sku_codes, weeks)[keep], categories=sku_names),
            "week": np.tile(world.weeks.to_numpy(), n)[keep],
            **{c: v.ravel()[keep] for c, v in self.cols.items()}, "in_stock": self.in_stock.ravel()[keep]})
        return frame


def sell_week(world: World, ledger: Ledger, on_hand: np.ndarray, t: int) -> None:
    """Sell what week `t` demand allows from `on_hand` (in place) and book the week in the ledger."""
    demand = world.demand[:, t]
    sold = np.minimum(on_hand, demand)
    ledger.cols["demand"][:, t] = demand
    ledger.cols["sold"][:, t] = sold
    ledger.in_stock[:, t] = np.where(demand > on_hand, on_hand / np.maximum(demand, 1), 1.0)
    on_hand -= sold
    ledger.cols["closing"][:, t] = on_hand


def measure(world: World, ledger: Ledger) -> dict:
    cost = world.products.set_index("sku")["unit_cost"].astype(float)
    panel = ledger.panel(world)
    k = kpis.summary(panel, cost)
    return {
        "fill_rate": round(k["fill_rate"], 4), "turnover": round(k["turnover"], 3),
        "avg_inventory_units": round(k["avg_inventory_units"], 1), "stockout_weeks": k["stockout_weeks"],
        "units_transferred": ledger.transferred, "units_sold": k["units_sold"],
        "units_demanded": k["units_demanded"], "sell_through": round(k["sell_through"], 4),
        "avg_inventory_cost": round(k["avg_inventory_cost"]),
        "fill_by_cost": _fill_by_cost(world, ledger),
    }


COST_BANDS = (1200.0, 1700.0, 2400.0)  # CNY unit cost; in the demo about list prices <= 1,799 / -2,699 / -3,699 / more


def _fill_by_cost(world: World, ledger: Ledger) -> dict:
    """Unit fill rate by unit-cost band: what a cost-aware rule gives up on dear SKUs is visible."""
    band = np.digitize(world.cost, COST_BANDS)
    edges = (0.0, *COST_BANDS, float("inf"))
    out = {}
    for b in range(len(edges) - 1):
        rows = band == b
        demand = int(world.demand[rows].sum())
        label = f"{edges[b]:g}-{edges[b + 1]:g}" if b < len(edges) - 2 else f"{edges[b]:g}+"
        out[label] = round(float(ledger.cols["sold"][rows].sum() / demand), 4) if demand else None
    return out

