"""Replay the last year of the demo world week by week: our policy against a tuned min/max.

    python -m forecasting.simulate --data DIR [--json] [--out DIR] [--hold ...] [--fill 0.95]

DIR holds sales.parquet, products.parquet and stores.parquet (`flask --app wsgi demo export DIR`).
Each week: receive what arrives, review (order from the DC, which has stock; lead time one
week; our policy may also propose same-city transfers), then sell what demand allows. Demand is
the recorded weekly units, uncensored where the SKU was out of stock part of the week: the
missing share of the week gets Poisson demand at the store x SKU's in-stock rate of the year
(seeded). Both policies start at their own target stock, see the same demand, assortment
(the store x SKU pairs stocked in the year) and end-of-life dates, and are measured by the
same KPI functions (forecasting.kpis). Inventory is what the stores hold at the end of each
week, at cost; the DC is an unlimited source for both policies and its stock is not counted
(no policy returns stock to it), nor are units on the one-week road (orders and transfers).

Our policy is the cost-aware rule of forecasting.replenishment.policy (hold a unit when its
chance to sell within the shelf horizon is at least hold_per_kcny x unit cost / 1000), run
for a sweep of hold_per_kcny (the Lagrange multiplier of the fill rate) to trace its fill
rate / turnover curve. It forecasts with `forecasting.forecast` every `--every` weeks (default
6) from the sales before that week, rolls the forecast forward in between, and reuses these
forecasts for every point of the sweep. The min/max baseline (reorder point and order-up-to
level in weeks of the trailing 26-week average sales, each with a floor of units, rounded up
to packs) is run on a grid; for each of our points it is tuned to the highest turnover among
its settings that reach our fill rate, and its curve is interpolated at our fill rate too.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from forecasting import forecast, kpis
from forecasting.replenishment import apply_transfers, propose_transfers
from forecasting.replenishment.cover import matrix_cover
from forecasting.replenishment.policy import cost_aware_orders, hold_bar

WEEKS = 52
HISTORY_WEEKS = 104  # history handed to each forecast (the life-cycle model needs no more)
TRAILING = 26  # weeks of sales a min/max rule averages
LEAD, REVIEW = 1, 1
SHELF_WEEKS = 13  # presence rule and rebalancing: weeks in which a unit on the shelf should sell
EVERY = 6  # weeks between two forecasts
# hold_per_kcny sweep (chance to sell within the shelf horizon per 1,000 CNY of unit cost):
# on the demo world it spans unit fill rates from about 0.94 to 0.99.
DEFAULT_HOLD = (0.003, 0.0045, 0.006, 0.0075, 0.009, 0.0098, 0.0105, 0.0113, 0.012)
# Min/max settings (min weeks, max weeks, (min floor, max floor)) in weeks of trailing sales and units:
# floors (0, 1) is "reorder the unit when the shelf is empty", (1, 2) keeps a spare.
MINMAX_GRID = ([(mn, mx, (0, 1)) for mn in (0.0, 1.0) for mx in (4.0, 8.0, 13.0, 16.0, 20.0, 26.0, 32.0, 39.0, 52.0)]
               + [(0.0, mx, (1, 2)) for mx in (8.0, 26.0, 52.0)] + [(0.0, mx, (0, 2)) for mx in (8.0, 26.0)])
TARGET_FILL = 0.95  # the must-show threshold
# The reported point: the lowest sweep point at or above this fill rate. Min/max reaches about 96-97 % with
# one unit per stocked cell (its plateau); above it a policy must choose where second units go, which is
# where a forecast should matter. Every sweep point >= 95 % is printed with its ratio, the weak band
# between 95 % and 97.5 % included (see docs/replenishment.md).
REPORT_FILL = 0.975
TARGET_RATIO = 1.25


@dataclass
class World:
    """What both policies face: cells (store x SKU) x weeks of demand, active flags and prices."""

    weeks: pd.DatetimeIndex
    store: np.ndarray
    sku: np.ndarray
    demand: np.ndarray  # (cells, weeks) int
    active: np.ndarray  # (cells, weeks) bool: the store carries the SKU and it has not ended
    orderable: np.ndarray  # (cells, weeks) bool: active, and an order placed now arrives before end of life
    history: np.ndarray  # (cells, TRAILING) units sold in the weeks before the replay
    products: pd.DataFrame
    stores: pd.DataFrame
    pack: np.ndarray
    cost: np.ndarray  # unit cost of each cell's SKU
    recorded_units: int


def load(data: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    frames = []
    for name in ("sales", "products", "stores"):
        path = data / f"{name}.parquet"
        if not path.exists():
            raise SystemExit(f"{path} is missing: write DIR with `flask --app wsgi demo export DIR`")
        frames.append(pd.read_parquet(path))
    sales, products, stores = frames
    for col in ("store", "sku"):
        sales[col] = sales[col].astype(str)
    products["sku"] = products["sku"].astype(str)
    stores["store"] = stores["store"].astype(str)
    return sales, products, stores


def build_world(sales, products, stores, *, weeks: int = WEEKS, seed: int = 7) -> World:
    last = sales["week"].max()
    start = last - pd.Timedelta(weeks=weeks - 1)
    grid = pd.date_range(start, periods=weeks, freq="7D")
    window = sales[sales["week"] >= start]
    cells = window[["store", "sku"]].drop_duplicates().sort_values(["store", "sku"]).reset_index(drop=True)
    key = pd.MultiIndex.from_frame(cells)
    row = key.get_indexer(pd.MultiIndex.from_frame(window[["store", "sku"]]))
    col = ((window["week"] - start) // pd.Timedelta(weeks=1)).to_numpy()
    n = len(cells)
    units = np.zeros((n, weeks), np.int64)
    in_stock = np.zeros((n, weeks))
    units[row, col] = window["units"].to_numpy()
    in_stock[row, col] = window["in_stock"].to_numpy() if "in_stock" in window else 1.0
    seen = np.zeros((n, weeks), bool)
    seen[row, col] = True
    # Active from the first to the last week the store stocked the SKU in the year.
    first = seen.argmax(1)
    last_seen = weeks - 1 - seen[:, ::-1].argmax(1)
    w = np.arange(weeks)
    active = (w >= first[:, None]) & (w <= last_seen[:, None])
    prods = products.set_index("sku")
    eol = pd.to_datetime(cells["sku"].map(prods["eol_date"])).to_numpy()
    eol_week = np.where(pd.isna(eol), weeks + 10,
                        ((eol - start.to_datetime64()) / np.timedelta64(7, "D")).astype(float))
    eol_week = np.nan_to_num(eol_week, nan=weeks + 10)
    orderable = active & (w[None, :] + LEAD <= eol_week[:, None])
    # Uncensor: the out-of-stock share of an active week gets demand at the cell's in-stock rate.
    exposure = (in_stock * active).sum(1)
    rate = np.where(exposure > 0, units.sum(1) / np.maximum(exposure, 1e-9), 0.0)
    missing = np.where(active & (w[None, :] <= eol_week[:, None]), 1.0 - np.clip(in_stock, 0, 1), 0.0)
    rng = np.random.default_rng(seed)
    demand = units + rng.poisson(rate[:, None] * missing)
    before = sales[(sales["week"] < start) & (sales["week"] >= start - pd.Timedelta(weeks=TRAILING))]
    hrow = key.get_indexer(pd.MultiIndex.from_frame(before[["store", "sku"]]))
    hcol = ((before["week"] - (start - pd.Timedelta(weeks=TRAILING))) // pd.Timedelta(weeks=1)).to_numpy()
    history = np.zeros((n, TRAILING), np.int64)
    ok = hrow >= 0
    history[hrow[ok], hcol[ok]] = before["units"].to_numpy()[ok]
    pack = cells["sku"].map(prods["pack_size"]).fillna(1).to_numpy(np.int64)
    cost = cells["sku"].map(prods["unit_cost"]).astype(float).to_numpy()
    return World(grid, cells["store"].to_numpy(), cells["sku"].to_numpy(), demand, active, orderable, history,
                 products, stores, pack, cost, int(window["units"].sum()))


@dataclass
class Covers:
    """Forecast demand per cell and week over the cover period and over the selling horizon."""

    mean: np.ndarray
    phi: np.ndarray
    sell_mean: np.ndarray
    sell_phi: np.ndarray
    seconds: float
    origins: int


_SHARED: dict = {}  # what forked forecast workers read (sales, world, horizon), set by rolling_covers


def _forecast_origin(o: int):
    """One forecast from the sales before week `o` of the replay: (o, weekly means per live cell, spread)."""
    sales, world, horizon = _SHARED["sales"], _SHARED["world"], _SHARED["horizon"]
    origin = world.weeks[o]
    history = sales[(sales["week"] < origin) & (sales["week"] >= origin - pd.Timedelta(weeks=HISTORY_WEEKS))]
    live = np.flatnonzero(world.active[:, o:o + horizon].any(1))
    assortment = pd.DataFrame({"store": world.store[live], "sku": world.sku[live]})
    fc = forecast(history, horizon=horizon, products=world.products.set_index("sku"),
                  stores=world.stores.set_index("store"), assortment=assortment, start=origin,
                  quantiles=(0.5,))  # the policy uses the mean and the spread
    spread = fc.attrs.get("dispersion") or {"store": 0.3, "sku": [0.05]}
    key = pd.MultiIndex.from_arrays([world.store, world.sku])
    rows = key.get_indexer(pd.MultiIndex.from_frame(fc[["store", "sku"]].iloc[::horizon]))
    if (rows < 0).any() or not (fc["week"].to_numpy()[:horizon] == fc["week"].to_numpy()[horizon:2 * horizon]).all():
        raise RuntimeError("forecast rows are not one block of `horizon` weeks per store x SKU")
    return o, rows, fc["mean"].to_numpy(dtype=float).reshape(-1, horizon), spread


def rolling_covers(sales, world: World, *, every: int, progress: bool, workers: int = 1) -> Covers:
    """Forecast every `every` weeks (in `workers` forked processes) and keep, for each cell and
    week, the mean and phi of demand over lead + review and over the shelf horizon; the weeks
    between two origins roll the last forecast forward. Computed once, reused by every policy run."""
    n, weeks = world.demand.shape
    out = [np.zeros((n, weeks)) for _ in range(4)]
    horizon = every - 1 + max(LEAD + REVIEW, SHELF_WEEKS)
    began = time.perf_counter()
    origins = list(range(0, weeks, every))
    _SHARED.update(sales=sales, world=world, horizon=horizon)
    try:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
            with pool:
                results = pool.map(_forecast_origin, origins)
                results = list(tqdm(results, total=len(origins), desc="forecasts", disable=not progress,
                                    file=sys.stderr))
        else:
            results = [_forecast_origin(o) for o in tqdm(origins, desc="forecasts", disable=not progress,
                                                         file=sys.stderr)]
    finally:
        _SHARED.clear()
    for o, rows, mu, spread in results:
        for off in range(min(every, weeks - o)):
            for (mean, phi), cover in (((out[0], out[1]), LEAD + REVIEW), ((out[2], out[3]), SHELF_WEEKS)):
                a, p = matrix_cover(mu, store_phi=spread["store"], sku_phi=np.asarray(spread["sku"]),
                                    offset=off, weeks=cover)
                mean[rows, o + off] = a
                phi[rows, o + off] = p
    return Covers(*out, seconds=time.perf_counter() - began, origins=len(origins))


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


def _sell(world: World, ledger: Ledger, on_hand: np.ndarray, t: int) -> None:
    demand = world.demand[:, t]
    sold = np.minimum(on_hand, demand)
    ledger.cols["demand"][:, t] = demand
    ledger.cols["sold"][:, t] = sold
    ledger.in_stock[:, t] = np.where(demand > on_hand, on_hand / np.maximum(demand, 1), 1.0)
    on_hand -= sold
    ledger.cols["closing"][:, t] = on_hand


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
        _sell(world, ledger, on_hand, t)
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


def run_minmax(world: World, *, min_weeks: float, max_weeks: float, floor: tuple[int, int]) -> Ledger:
    """Reorder point / order-up-to in weeks of trailing average sales, at least `floor` units each."""
    n, weeks = world.demand.shape
    ledger = Ledger(n, weeks)
    sold_hist = np.concatenate([world.history, np.zeros((n, weeks), np.int64)], axis=1)
    on_hand = np.zeros(n, np.int64)
    pipeline = np.zeros((n, weeks + LEAD + 1), np.int64)
    for t in range(weeks):
        ledger.cols["opening"][:, t] = on_hand
        on_hand += pipeline[:, t]
        ledger.cols["received"][:, t] = pipeline[:, t]
        avg = sold_hist[:, t:t + TRAILING].mean(1)
        low = np.maximum(floor[0], np.ceil(avg * min_weeks - 1e-9)).astype(np.int64)
        high = np.maximum(np.maximum(floor[1], low), np.ceil(avg * max_weeks - 1e-9)).astype(np.int64)
        position = on_hand + pipeline[:, t + 1:].sum(1)
        due = world.orderable[:, t] & (position <= low) & (position < high)
        order = np.where(due, high - position, 0)
        order = -(-order // world.pack) * world.pack
        if t == 0:
            on_hand += np.where(world.orderable[:, 0], high, 0)
        else:
            pipeline[:, t + LEAD] += order
        _sell(world, ledger, on_hand, t)
        sold_hist[:, TRAILING + t] = ledger.cols["sold"][:, t]
    return ledger


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


def minmax_grid(world: World, progress: bool = False) -> list[dict]:
    tried = []
    for min_w, max_w, floor in tqdm(MINMAX_GRID, desc="min/max grid", disable=not progress, file=sys.stderr):
        result = measure(world, run_minmax(world, min_weeks=min_w, max_weeks=max_w, floor=floor))
        tried.append({**result, "min_weeks": min_w, "max_weeks": max_w, "floor": f"{floor[0]}/{floor[1]}"})
    return tried


def tune_minmax(grid: list[dict], target_fill: float) -> dict:
    """The min/max setting with the highest turnover among those reaching `target_fill`
    (None if no setting reaches it)."""
    reaching = [r for r in grid if r["fill_rate"] >= target_fill]
    return max(reaching, key=lambda r: r["turnover"]) if reaching else None


def frontier_turnover(grid: list[dict], fill: float) -> float | None:
    """Min/max turnover at exactly `fill` on its frontier: the upper envelope of (fill, best turnover
    at that fill or more), interpolated linearly between the two frontier points around `fill`."""
    points = sorted({(r["fill_rate"], r["turnover"]) for r in grid})
    best = []  # for each fill level: the best turnover at that fill rate or above
    for f, _ in points:
        best.append((f, max(tu for g, tu in points if g >= f)))
    below = [p for p in best if p[0] <= fill]
    above = [p for p in best if p[0] >= fill]
    if not above:
        return None
    hi = min(above)
    if not below:
        return hi[1]
    lo = max(below)
    if hi[0] == lo[0]:
        return hi[1]
    return lo[1] + (hi[1] - lo[1]) * (fill - lo[0]) / (hi[0] - lo[0])


def compare(sweep: list[dict], grid: list[dict]) -> list[dict]:
    """Each of our points against min/max tuned to (at least) its fill rate and against the
    min/max frontier interpolated at its fill rate."""
    rows = []
    for r in sweep:
        tuned = tune_minmax(grid, r["fill_rate"])
        front = frontier_turnover(grid, r["fill_rate"])
        rows.append({"hold_per_kcny": r["hold_per_kcny"], "fill_rate": r["fill_rate"], "turnover": r["turnover"],
                     "minmax_fill_rate": tuned["fill_rate"] if tuned else None,
                     "minmax_turnover": tuned["turnover"] if tuned else None,
                     "ratio_tuned": round(r["turnover"] / tuned["turnover"], 3) if tuned else None,
                     "minmax_frontier_turnover": round(front, 4) if front else None,
                     "ratio_frontier": round(r["turnover"] / front, 3) if front else None})
    return rows


def plot(ours: list[dict], minmax: list[dict], path: Path, chosen: dict | None = None) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([r["turnover"] for r in ours], [100 * r["fill_rate"] for r in ours], "o-",
            label="ours: cost-aware rule (sweep of hold per 1,000 CNY)")
    for r in ours:
        ax.annotate(f"{r['hold_per_kcny']:g}", (r["turnover"], 100 * r["fill_rate"]), fontsize=7,
                    xytext=(4, -9), textcoords="offset points")
    ax.scatter([r["turnover"] for r in minmax], [100 * r["fill_rate"] for r in minmax], marker="x", color="grey",
               label="min/max (grid)")
    pts = sorted((r["fill_rate"], frontier_turnover(minmax, r["fill_rate"])) for r in minmax)
    ax.plot([tu for _, tu in pts], [100 * f for f, _ in pts], color="grey", lw=0.8, label="min/max frontier")
    ax.plot([TARGET_RATIO * tu for _, tu in pts], [100 * f for f, _ in pts], color="grey", lw=0.8, ls=":",
            label=f"{TARGET_RATIO:g} x min/max frontier (target)")
    if chosen is not None:
        ax.scatter([chosen["turnover"]], [100 * chosen["fill_rate"]], s=90, facecolors="none", edgecolors="red",
                   label="reported point")
    ax.axhline(100 * TARGET_FILL, color="red", lw=0.8, ls="--")
    ax.set_xlabel("inventory turnover (COGS / average store inventory at cost, per year)")
    ax.set_ylabel("unit fill rate (%)")
    ax.set_ylim(93, 100)
    ax.set_title("Fill rate against turnover, last year of the demo world")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def simulate(data: Path, *, holds=DEFAULT_HOLD, every: int = EVERY, transfer_cost: float | None = 40.0,
             fill: float = REPORT_FILL, out: Path | None = None, progress: bool = True, workers: int = 2) -> dict:
    began = time.perf_counter()
    sales, products, stores = load(data)
    world = build_world(sales, products, stores)
    covers = rolling_covers(sales, world, every=every, progress=progress, workers=workers)
    del sales
    sweep = []
    for hold in tqdm(sorted(holds, reverse=True), desc="our sweep", disable=not progress, file=sys.stderr):
        run = run_ours(world, covers, hold, transfer_cost=transfer_cost)
        sweep.append({**measure(world, run), "hold_per_kcny": hold, "transfers": transfer_cost is not None})
    grid = minmax_grid(world, progress=progress)
    reaching = [r for r in sweep if r["fill_rate"] >= fill]
    ours = min(reaching, key=lambda r: r["fill_rate"]) if reaching else max(sweep, key=lambda r: r["fill_rate"])
    alone = None
    if transfer_cost is not None:  # the reported point without transfers, to show what they add
        alone = {**measure(world, run_ours(world, covers, ours["hold_per_kcny"])),
                 "hold_per_kcny": ours["hold_per_kcny"], "transfers": False}
    minmax = tune_minmax(grid, ours["fill_rate"]) or max(grid, key=lambda r: r["fill_rate"])
    front = frontier_turnover(grid, ours["fill_rate"])
    result = {"ours": ours, "minmax": minmax, "ours_no_transfers": alone}
    meta = {"cells": int(len(world.store)), "weeks": WEEKS, "recorded_units": world.recorded_units,
            "uncensored_demand": int(world.demand.sum()), "forecast_origins": covers.origins, "every": every,
            "forecast_seconds": round(covers.seconds, 1), "target_fill": fill,
            "turnover_ratio": round(ours["turnover"] / minmax["turnover"], 3) if minmax["turnover"] else None,
            "minmax_frontier_turnover": round(front, 4) if front else None,
            "turnover_ratio_frontier": round(ours["turnover"] / front, 3) if front else None}
    comparison = compare(sweep, grid)
    meta["seconds"] = round(time.perf_counter() - began, 1)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(sweep).to_csv(out / "simulation_ours.csv", index=False)
        pd.DataFrame(grid).to_csv(out / "simulation_minmax.csv", index=False)
        pd.DataFrame(comparison).to_csv(out / "simulation_compare.csv", index=False)
        plot(sweep, grid, out / "simulation_tradeoff.png", chosen=ours)
        meta["seconds"] = round(time.perf_counter() - began, 1)
        (out / "simulation.json").write_text(json.dumps({**result, "meta": meta, "compare": comparison}, indent=2))
    return {**result, "sweep": sweep, "grid": grid, "compare": comparison, "meta": meta}


def table(result: dict) -> str:
    keys = ["fill_rate", "turnover", "avg_inventory_units", "avg_inventory_cost", "stockout_weeks",
            "units_transferred", "units_sold", "sell_through"]
    ours, mm = result["ours"], result["minmax"]
    lines = [f"| policy | {' | '.join(keys)} |", "|" + " --- |" * (len(keys) + 1)]
    for row in (ours, result.get("ours_no_transfers")):
        if row is not None:
            label = (f"ours (hold {row['hold_per_kcny']:g} per 1,000 CNY, "
                     f"{'same-city transfers' if row['transfers'] else 'no transfers'})")
            lines.append(f"| {label} | " + " | ".join(str(row[k]) for k in keys) + " |")
    lines.append(f"| min/max (min {mm['min_weeks']:g} w, max {mm['max_weeks']:g} w, floors {mm['floor']}) | "
                 + " | ".join(str(mm[k]) for k in keys) + " |")
    lines += ["", "| hold per 1,000 CNY | fill rate | turnover | min/max tuned: fill | turnover | ratio "
              "| min/max frontier at our fill | ratio |", "|" + " --- |" * 8]
    for c in result["compare"]:
        lines.append("| " + " | ".join(str(c[k]) for k in (
            "hold_per_kcny", "fill_rate", "turnover", "minmax_fill_rate", "minmax_turnover", "ratio_tuned",
            "minmax_frontier_turnover", "ratio_frontier")) + " |")
    m = result["meta"]
    above = [c for c in result["compare"] if c["fill_rate"] >= TARGET_FILL and c["ratio_frontier"] is not None]
    if above:
        worst = min(above, key=lambda c: min(c["ratio_frontier"], c["ratio_tuned"] or np.inf))
        held = sum(min(c["ratio_frontier"], c["ratio_tuned"] or np.inf) >= TARGET_RATIO for c in above)
        lines.append("")
        lines.append(f"at fill rates >= {TARGET_FILL}: ratio >= {TARGET_RATIO} (tuned and frontier) at {held} of "
                     f"{len(above)} sweep points; the lowest is {worst['ratio_tuned']} / {worst['ratio_frontier']} "
                     f"at fill {worst['fill_rate']}")
    lines.append("")
    lines.append(f"turnover ours / min/max tuned to our fill rate: {m['turnover_ratio']}, / min/max frontier at our "
                 f"fill rate: {m['turnover_ratio_frontier']} (target >= {TARGET_RATIO}); {m['cells']} store x SKU "
                 f"cells, {m['forecast_origins']} forecasts in {m['forecast_seconds']} s; whole run {m['seconds']} s "
                 "(target < 600 s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Replay the last year: our replenishment policy against min/max.")
    parser.add_argument("--data", type=Path, required=True, help="directory of `flask --app wsgi demo export`")
    parser.add_argument("--json", action="store_true", help='print one JSON object {"ours": ..., "minmax": ...}')
    parser.add_argument("--out", type=Path, default=None, help="write CSVs, JSON and the trade-off plot here")
    parser.add_argument("--hold", type=float, nargs="+", default=list(DEFAULT_HOLD),
                        help="hold_per_kcny values to sweep (chance to sell per 1,000 CNY of unit cost)")
    parser.add_argument("--fill", type=float, default=REPORT_FILL,
                        help="report our sweep point with the lowest fill rate at or above this one")
    parser.add_argument("--every", type=int, default=EVERY, help="weeks between two forecasts (rolled in between)")
    parser.add_argument("--transfer-cost", type=float, default=40.0, help="cost of moving a unit within a city")
    parser.add_argument("--no-transfers", action="store_true", help="no same-city transfers at the reported point")
    parser.add_argument("--workers", type=int, default=2, help="processes that make the forecasts (1: no fork)")
    args = parser.parse_args(argv)
    if any(not h > 0 for h in args.hold):
        parser.error("hold values are > 0")
    if not 0 < args.fill < 1:
        parser.error("--fill lies strictly between 0 and 1")
    if args.every < 1:
        parser.error("--every is at least 1 week")
    began = time.perf_counter()
    result = simulate(args.data, holds=args.hold, every=args.every,
                      transfer_cost=None if args.no_transfers else args.transfer_cost, fill=args.fill,
                      out=args.out, progress=not args.json, workers=args.workers)
    if args.json:
        print(json.dumps({"ours": result["ours"], "minmax": result["minmax"]}))
    else:
        print(table(result))
    print(f"elapsed {time.perf_counter() - began:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
