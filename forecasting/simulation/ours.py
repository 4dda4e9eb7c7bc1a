"""Our policy in the replay: the cost-aware rule, with same-city transfers netted against DC orders."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from tqdm import tqdm

from forecasting.replenishment import apply_transfers, propose_transfers
from forecasting.replenishment.policy import cost_aware_orders, hold_bar
from forecasting.simulation.covers import Covers
from forecasting.simulation.ledger import Ledger, sell_week
from forecasting.simulation.world import LEAD, World

# hold_per_kcny sweep (chance to sell within the shelf horizon per 1,000 CNY of unit cost):
# on the demo world it spans unit fill rates from about 0.94 to 0.99.
DEFAULT_HOLD = (0.003, 0.0045, 0.006, 0.0075, 0.009, 0.0098, 0.0105, 0.0113, 0.012)


def run_ours(world: World, covers: Covers, hold_per_kcny: float, *, transfer_cost: float | None = None,
             progress: bool = False) -> Ledger:
    """The cost-aware policy (policy.cost_aware_orders, the arithmetic order_lines uses in that mode)
    on arrays: the demo world has no display minimums or shelf capacities, and end of life and
    assortment are `world.orderable`. With `transfer_cost`, same-city transfers are proposed
    each week by rebalancing.propose_transfers and netted against the DC orders."""
    n, weeks = world.demand.shape
    ledger = Ledger(n, weeks)
    on_hand = np.zeros(n, np.int64)
    pipeline = np.zeros((n, weeks + LEAD + 1), np.int64)
    bar = hold_bar(world.cost, hold_per_kcny)
    group = _city_sku(world) if transfer_cost is not None else None
    for t in tqdm(range(weeks), desc=f"ours {hold_per_kcny:g}", disable=not progress, file=sys.stderr, leave=False):
        ledger.cols["opening"][:, t] = on_hand
        on_hand += pipeline[:, t]
        ledger.cols["received"][:, t] = pipeline[:, t]
        live = np.flatnonzero(world.orderable[:, t])
        position = on_hand[live] + pipeline[live, t + 1:].sum(1)
        target, order = cost_aware_orders(position, covers.sell_mean[live, t], covers.sell_phi[live, t], bar[live],
                                          world.pack[live])
        if t == 0:  # start at the target stock, as the baseline does
            on_hand[live] += order
            order = np.zeros_like(order)
        elif transfer_cost is not None:
            order = _transfers(world, covers, ledger, on_hand, pipeline, t, live, position, target, order,
                               transfer_cost, group)
        pipeline[live, t + LEAD] += order
        sell_week(world, ledger, on_hand, t)
    return ledger


def _city_sku(world: World) -> np.ndarray:
    city = pd.Series(world.store).map(world.stores.set_index("store")["city"]).fillna("").to_numpy(dtype=str)
    return pd.factorize(pd.Series(world.sku).astype(str) + "|" + city)[0]


def _transfers(world, covers, ledger, on_hand, pipeline, t, live, position, target, order, transfer_cost, group):
    """Same-city transfers this week: donors are cells above their target or no longer orderable
    (end of life, delisted) with stock; receivers are the orderable cells below their target."""
    stocked = np.flatnonzero((on_hand > 0) & ~world.orderable[:, t])
    # Only cells that can give (stock above target) or take (position below target) make transfers;
    # passing just those, in the city x SKU groups that have both, gives propose_transfers' answer.
    give = on_hand[live] > target
    take = position < target
    both = np.intersect1d(group[np.concatenate([live[give], stocked])], group[live[take]])
    if not len(both):
        return order
    pick = np.flatnonzero((give | take) & np.isin(group[live], both))
    stocked = stocked[np.isin(group[stocked], both)]
    rows = np.concatenate([live[pick], stocked])
    k = len(pick)
    pos = np.concatenate([position[pick], on_hand[stocked] + pipeline[stocked, t + 1:].sum(1)])
    tgt = np.concatenate([target[pick], np.zeros(len(stocked), np.int64)])
    lines = pd.DataFrame({
        "store": world.store[rows], "sku": world.sku[rows], "on_hand": on_hand[rows], "transfers_out": 0,
        "position": pos, "order_up_to": tgt, "cover_quantile": tgt, "display_min": 0,
        "reason": np.where(np.arange(len(rows)) < k, "order", "end_of_life"),
        "order_units": np.concatenate([order[pick], np.zeros(len(stocked), np.int64)])})
    sell = pd.DataFrame({"store": lines["store"], "sku": lines["sku"],
                         "cover_mean": covers.sell_mean[rows, t], "cover_phi": covers.sell_phi[rows, t]})
    transfers = propose_transfers(lines, sell, stores=world.stores, products=world.products,
                                  transfer_cost=transfer_cost)
    if not len(transfers):
        return order
    lines = apply_transfers(lines, transfers)
    on_hand[rows] -= lines["proposed_out"].to_numpy()
    pipeline[rows, t + LEAD] += lines["proposed_in"].to_numpy()
    ledger.transferred += int(transfers["units"].sum())
    order = order.copy()
    order[pick] = lines["order_units"].to_numpy()[:k]
    return order
