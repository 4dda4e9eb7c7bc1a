"""The endless aisle in the replay: range decisions from the rolling forecast, demo units, customer orders.

decide_week: every `range_every` weeks, forecasting.ranging.decide on the cells the stores carry that week
(weekly mean = the forecast over the shelf horizon / 13, dispersion of the 2-week cover, the cost-aware
level of the policy as `stock_units` (0 allowed: a carried SKU whose customers order), the store x model as `model`, launch and end of life from the
products), starting from today's ranges (every carried cell stocked). demos: one demo unit per store x
model that shows a SKU without stocking any of the model's SKUs; bought when first needed, written down
(demo markdown) when no longer needed. sell_to_order: customers of a stock or show cell who found no unit
and accept waiting are served from the DC, else from a same-city store holding the SKU.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from forecasting.ranging import RangeSettings, decide
from forecasting.replenishment.policy import cost_aware_orders
from forecasting.simulation.dc import ship_from_dc
from forecasting.simulation.world import SHELF_WEEKS

NONE, SHOW, STOCK = 0, 1, 2
NAMES = np.array(["none", "show", "stock"], dtype=object)


def decide_week(world, covers, net, t, previous, settings: RangeSettings, bar, serve_value, on_hand, pipe, dc_on,
                dc_pipe, costs, books, *, first: bool, lift: bool = False, new_only: bool = False):
    """The range of week t on the carried cells (with `new_only`, only the cells carried this week and not the
    week before: a SKU newly listed in a store gets its decision at once, not at the next review)."""
    rows = np.flatnonzero(world.active[:, t])
    if new_only:
        rows = rows[~world.active[rows, t - 1]]
        if not len(rows):
            return previous, None
    level, _ = cost_aware_orders(np.zeros(len(rows), np.int64), covers.sell_mean[rows, t], covers.sell_phi[rows, t],
                                 bar[rows], world.pack[rows])
    cells = pd.DataFrame({  # codes, not strings: the frame is built every few weeks for every carried cell
        "store": net.store_code[rows], "sku": rows, "model": net.model[rows], "brand": net.brand_code[rows],
        "market": net.market[rows], "tier": net.tier[rows],
        "weekly_mean": covers.sell_mean[rows, t] / SHELF_WEEKS, "phi": covers.phi[rows, t],
        "unit_cost": world.cost[rows], "price": net.price[rows],
        "weeks_since_launch": t - net.launch[rows], "weeks_to_eol": net.eol[rows] - t,
        "current": NAMES[previous[rows]], "stock_units": np.maximum(level, 1 if lift else 0)})
    if np.ndim(serve_value):  # one value per cell (calibration by tier or brand)
        cells["serve_value"] = np.asarray(serve_value, dtype=float)[rows]
        serve_value = 0.0
    out = decide(cells, dataclasses.replace(settings, serve_value=float(serve_value)))
    decision = previous.copy() if new_only else np.full(len(previous), NONE, np.int8)
    code = np.select([out["decision"].to_numpy() == "stock", out["decision"].to_numpy() == "show"], [STOCK, SHOW],
                     NONE).astype(np.int8)
    decision[rows] = code
    if new_only:
        return decision, out["conversion"].to_numpy(float), rows
    conv = np.full(len(previous), float(np.mean(out["conversion"])) if len(out) else 0.0)
    conv[rows] = out["conversion"].to_numpy(float)
    if not first:  # stock dropped from the range (to none) goes back to its DC; a shown cell sells its units down
        back = np.flatnonzero((previous == STOCK) & (decision == NONE) & (on_hand > 0)
                              & (net.eol - t > settings.eol_weeks))
        units = on_hand[back]
        np.add.at(dc_pipe[:, t + 1], net.pair[back], units)
        on_hand[back] = 0
        books.units_returned += int(units.sum())
        books.transfers += costs.transfer_cost * float(units.sum())
    counts = out["decision"].value_counts().to_dict()
    books.decisions.append({"week": t, **{k: int(counts.get(k, 0)) for k in ("stock", "show", "none")},
                            "changed": int(out["changed"].sum()) if not first else 0})
    return decision, conv


def demos(net, world, t, decision, demo, dc_on, costs, books):
    """The demo units needed this week: a store x model showing a SKU without stocking one of them."""
    active = world.active[:, t]
    shows = np.bincount(net.model, weights=(decision == SHOW) & active, minlength=net.models) > 0
    stocks = np.bincount(net.model, weights=(decision == STOCK) & active, minlength=net.models) > 0
    need = shows & ~stocks
    new = need & ~demo
    retired = demo & ~need
    books.demo_units_bought += int(new.sum())
    books.demo_markdown += costs.demo_markdown * float(net.model_cost[retired].sum())
    return need


def sell_to_order(world, net, t, unmet, decision, conv, on_hand, dc_on, costs, books, rng):
    """Customers of stock and show cells who found no unit: those who accept waiting are served from the
    DC, else from a same-city store with the SKU on hand (the rest is lost)."""
    rows = np.flatnonzero((unmet > 0) & (decision != NONE))
    if not len(rows):
        return
    accept = rng.binomial(unmet[rows], np.clip(conv[rows], 0, 1))
    requests = np.zeros(len(on_hand), np.int64)
    requests[rows] = accept
    shipped = ship_from_dc(requests, net.pair, dc_on, rng)
    books.to_order += shipped
    books.delivery += costs.delivery_cost * float(shipped.sum())
    rest = requests - shipped
    wanting = np.flatnonzero(rest > 0)
    if not len(wanting):
        return
    groups = np.unique(net.city[wanting])
    donors = np.flatnonzero((on_hand > 0) & np.isin(net.city, groups))
    by_group: dict[int, list[int]] = {}
    for d in donors[np.argsort(-on_hand[donors], kind="stable")]:
        by_group.setdefault(int(net.city[d]), []).append(int(d))
    for r in wanting:
        need = int(rest[r])
        for d in by_group.get(int(net.city[r]), []):
            if need == 0:
                break
            if d == r or on_hand[d] <= 0:
                continue
            k = min(need, int(on_hand[d]))
            on_hand[d] -= k
            need -= k
            books.same_city[r] += k
            books.delivery += costs.delivery_cost * k
            books.units_transferred += k
