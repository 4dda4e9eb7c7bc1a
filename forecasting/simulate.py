"""Replay the last year of the demo world week by week: our policy against a tuned min/max.

    python -m forecasting.simulate --data DIR [--json] [--out DIR] [--service-levels 0.8 0.9 ...]

DIR holds sales.parquet, products.parquet and stores.parquet (`flask --app wsgi demo export DIR`).
Each week: receive what arrives, review (order from the DC, which has stock; lead time one
week; our policy also proposes same-city transfers), then sell what demand allows. Demand is
the recorded weekly units, uncensored where the SKU was out of stock part of the week: the
missing share of the week gets Poisson demand at the store x SKU's in-stock rate of the year
(seeded). Both policies start at their own target stock, see the same demand, assortment
(the store x SKU pairs stocked in the year) and end-of-life dates, and are measured by the
same KPI functions (forecasting.kpis).

Our policy forecasts with `forecasting.forecast` every `--every` weeks (default 4) from the
sales before that week and rolls the forecast forward in between (see docs/replenishment.md
for the measured cost of a forecast per week). The min/max baseline (reorder point and
order-up-to level in weeks of the trailing 26-week average sales, with a floor of units) is
tuned by grid search to the highest turnover that reaches our fill rate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from forecasting import forecast, kpis
from forecasting.replenishment import (
    PolicyConfig,
    ServiceLevels,
    apply_transfers,
    order_lines,
    propose_transfers,
)
from forecasting.replenishment.cover import matrix_cover

WEEKS = 52
HISTORY_WEEKS = 104  # history handed to each forecast (the life-cycle model needs no more)
TRAILING = 26  # weeks of sales a min/max rule averages
LEAD, REVIEW = 1, 1
SHELF_WEEKS = 13  # presence rule and rebalancing: weeks in which a unit on the shelf should sell
DEFAULT_LEVELS = (0.9, 0.97, 0.99)  # 0.99 is where the fill rate crosses 95 % on the demo world
# Reorder point and order-up-to level in weeks of trailing sales, each with a floor in units:
# (0, 1) is "reorder the unit when the shelf is empty", (1, 2) keeps a spare.
MINMAX_GRID = {"min_weeks": (0.0, 2.0, 4.0), "max_weeks": (4.0, 8.0, 16.0), "floors": ((0, 1), (1, 2), (0, 0))}
TARGET_FILL = 0.95


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
    return World(grid, cells["store"].to_numpy(), cells["sku"].to_numpy(), demand, active, orderable, history,
                 products, stores, pack, int(window["units"].sum()))


@dataclass
class Covers:
    """Forecast demand per cell and week over the cover period and over the selling horizon."""

    mean: np.ndarray
    phi: np.ndarray
    sell_mean: np.ndarray
    sell_phi: np.ndarray
    seconds: float
    origins: int


def rolling_covers(sales, world: World, *, every: int, progress: bool) -> Covers:
    n, weeks = world.demand.shape
    out = [np.zeros((n, weeks)) for _ in range(4)]
    horizon = every - 1 + max(LEAD + REVIEW, SHELF_WEEKS)
    products = world.products.set_index("sku")
    stores = world.stores.set_index("store")
    key = pd.MultiIndex.from_arrays([world.store, world.sku])
    began = time.perf_counter()
    origins = range(0, weeks, every)
    for o in tqdm(origins, desc="forecasts", disable=not progress, file=sys.stderr):
        origin = world.weeks[o]
        history = sales[(sales["week"] < origin) & (sales["week"] >= origin - pd.Timedelta(weeks=HISTORY_WEEKS))]
        live = world.active[:, o:o + horizon].any(1)
        assortment = pd.DataFrame({"store": world.store[live], "sku": world.sku[live]})
        fc = forecast(history, horizon=horizon, products=products, stores=stores, assortment=assortment,
                      start=origin)
        spread = fc.attrs.get("dispersion") or {"store": 0.3, "sku": [0.05]}
        fc = fc.sort_values(["store", "sku", "week"])
        pairs = fc[["store", "sku"]].iloc[::horizon]
        mu = fc["mean"].to_numpy(dtype=float).reshape(-1, horizon)
        rows = key.get_indexer(pd.MultiIndex.from_frame(pairs))
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


def run_ours(world: World, covers: Covers, level: float, *, transfer_cost: float | None = 40.0,
             presence_level: float | None = None, progress: bool = False) -> Ledger:
    n, weeks = world.demand.shape
    config = PolicyConfig(service=ServiceLevels(default=level), review_weeks=REVIEW, lead_weeks=LEAD,
                          shelf_weeks=SHELF_WEEKS, presence_level=presence_level)
    ledger = Ledger(n, weeks)
    on_hand = np.zeros(n, np.int64)
    pipeline = np.zeros((n, weeks + LEAD + 1), np.int64)
    base = pd.DataFrame({"store": world.store, "sku": world.sku})
    for t in tqdm(range(weeks), desc=f"ours {level:.2f}", disable=not progress, file=sys.stderr, leave=False):
        ledger.cols["opening"][:, t] = on_hand
        on_hand += pipeline[:, t]
        ledger.cols["received"][:, t] = pipeline[:, t]
        live = np.flatnonzero(world.active[:, t] | (on_hand > 0))
        orderable = world.orderable[live, t]
        lines = base.iloc[live].assign(
            cover_mean=np.where(orderable, covers.mean[live, t], 0.0), cover_phi=covers.phi[live, t],
            shelf_mean=np.where(orderable, covers.sell_mean[live, t], 0.0), shelf_phi=covers.sell_phi[live, t],
            cover_weeks=LEAD + REVIEW, lead_weeks=LEAD, on_hand=on_hand[live],
            in_transit=pipeline[live, t + 1:].sum(1),
        )
        lines = order_lines(lines, as_of=world.weeks[t], products=world.products, stores=world.stores,
                            config=config)
        order = lines["order_units"].to_numpy()
        if t == 0:  # start at the target stock, as the baseline does
            on_hand[live] += order
            order = np.zeros_like(order)
        elif transfer_cost is not None:
            sell = pd.DataFrame({"store": lines["store"], "sku": lines["sku"],
                                 "cover_mean": covers.sell_mean[live, t], "cover_phi": covers.sell_phi[live, t]})
            transfers = propose_transfers(lines, sell, stores=world.stores, products=world.products,
                                          transfer_cost=transfer_cost)
            if len(transfers):
                lines = apply_transfers(lines, transfers)
                order = lines["order_units"].to_numpy()
                on_hand[live] -= lines["proposed_out"].to_numpy()
                pipeline[live, t + LEAD] += lines["proposed_in"].to_numpy()
                ledger.transferred += int(transfers["units"].sum())
        pipeline[live, t + LEAD] += order
        _sell(world, ledger, on_hand, t)
    return ledger


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
    }


def tune_minmax(world: World, target_fill: float, progress: bool = False) -> tuple[dict, list[dict]]:
    """Grid search: the highest turnover at a fill rate >= target (else the highest fill rate)."""
    tried = []
    grid = [(a, b, f) for a in MINMAX_GRID["min_weeks"] for b in MINMAX_GRID["max_weeks"] if b > a
            for f in MINMAX_GRID["floors"]]
    for min_w, max_w, floor in tqdm(grid, desc="min/max grid", disable=not progress, file=sys.stderr):
        result = measure(world, run_minmax(world, min_weeks=min_w, max_weeks=max_w, floor=floor))
        tried.append({**result, "min_weeks": min_w, "max_weeks": max_w, "floor": f"{floor[0]}/{floor[1]}"})
    reaching = [r for r in tried if r["fill_rate"] >= target_fill]
    best = max(reaching, key=lambda r: r["turnover"]) if reaching else max(tried, key=lambda r: r["fill_rate"])
    return best, tried


def plot(ours: list[dict], minmax: list[dict], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([r["turnover"] for r in ours], [100 * r["fill_rate"] for r in ours], "o-", label="ours (service levels)")
    for r in ours:
        ax.annotate(f"{r['service_level']:.2f}", (r["turnover"], 100 * r["fill_rate"]), fontsize=8,
                    xytext=(4, -10), textcoords="offset points")
    ax.scatter([r["turnover"] for r in minmax], [100 * r["fill_rate"] for r in minmax], marker="x", color="grey",
               label="min/max (grid)")
    ax.axhline(100 * TARGET_FILL, color="red", lw=0.8, ls="--")
    ax.set_xlabel("inventory turnover (COGS / average inventory at cost, per year)")
    ax.set_ylabel("unit fill rate (%)")
    ax.set_title("Fill rate against turnover, last year of the demo world")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def simulate(data: Path, *, levels=DEFAULT_LEVELS, every: int = 4, transfer_cost: float = 40.0,
             out: Path | None = None, progress: bool = True) -> dict:
    began = time.perf_counter()
    sales, products, stores = load(data)
    world = build_world(sales, products, stores)
    covers = rolling_covers(sales, world, every=every, progress=progress)
    sweep = []
    for level in tqdm(sorted(levels), desc="service levels", disable=not progress, file=sys.stderr):
        sweep.append({**measure(world, run_ours(world, covers, level, transfer_cost=transfer_cost)),
                      "service_level": level})
    reaching = [r for r in sweep if r["fill_rate"] >= TARGET_FILL]
    ours = reaching[0] if reaching else sweep[-1]  # the lowest service level reaching the target fill rate
    minmax, grid = tune_minmax(world, ours["fill_rate"], progress=progress)
    result = {"ours": ours, "minmax": minmax}
    meta = {"cells": int(len(world.store)), "weeks": WEEKS, "recorded_units": world.recorded_units,
            "uncensored_demand": int(world.demand.sum()), "forecast_origins": covers.origins,
            "forecast_seconds": round(covers.seconds, 1), "seconds": round(time.perf_counter() - began, 1),
            "turnover_ratio": round(ours["turnover"] / minmax["turnover"], 3) if minmax["turnover"] else None}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(sweep).to_csv(out / "simulation_ours.csv", index=False)
        pd.DataFrame(grid).to_csv(out / "simulation_minmax.csv", index=False)
        plot(sweep, grid, out / "simulation_tradeoff.png")
        (out / "simulation.json").write_text(json.dumps({**result, "meta": meta}, indent=2))
    return {**result, "sweep": sweep, "meta": meta}


def table(result: dict) -> str:
    keys = ["fill_rate", "turnover", "avg_inventory_units", "stockout_weeks", "units_transferred", "units_sold",
            "sell_through"]
    ours, mm = result["ours"], result["minmax"]
    lines = [f"| policy | {' | '.join(keys)} |", "|" + " --- |" * (len(keys) + 1)]
    lines.append(f"| ours (service level {ours['service_level']:.2f}) | " + " | ".join(str(ours[k]) for k in keys) + " |")
    lines.append(f"| min/max (min {mm['min_weeks']:g} w, max {mm['max_weeks']:g} w, floors {mm['floor']}) | "
                 + " | ".join(str(mm[k]) for k in keys) + " |")
    lines.append("")
    lines.append("our service-level sweep: " + ", ".join(
        f"{r['service_level']:.2f}: fill {r['fill_rate']:.3f} turnover {r['turnover']:.2f}" for r in result["sweep"]))
    m = result["meta"]
    lines.append(f"turnover ours / min/max: {m['turnover_ratio']} (target >= 1.25); {m['cells']} store x SKU cells, "
                 f"{m['forecast_origins']} forecasts in {m['forecast_seconds']} s; whole run {m['seconds']} s "
                 "(target < 600 s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Replay the last year: our replenishment policy against min/max.")
    parser.add_argument("--data", type=Path, required=True, help="directory of `flask --app wsgi demo export`")
    parser.add_argument("--json", action="store_true", help='print one JSON object {"ours": ..., "minmax": ...}')
    parser.add_argument("--out", type=Path, default=None, help="write CSVs, JSON and the trade-off plot here")
    parser.add_argument("--service-levels", type=float, nargs="+", default=list(DEFAULT_LEVELS))
    parser.add_argument("--every", type=int, default=4, help="weeks between two forecasts (rolled in between)")
    parser.add_argument("--transfer-cost", type=float, default=40.0, help="cost of moving a unit within a city")
    args = parser.parse_args(argv)
    if any(not 0 < q < 1 for q in args.service_levels):
        parser.error("service levels lie strictly between 0 and 1")
    if args.every < 1:
        parser.error("--every is at least 1 week")
    result = simulate(args.data, levels=args.service_levels, every=args.every, transfer_cost=args.transfer_cost,
                      out=args.out, progress=not args.json)
    if args.json:
        print(json.dumps({"ours": result["ours"], "minmax": result["minmax"]}))
    else:
        print(table(result))


if __name__ == "__main__":
    main()
