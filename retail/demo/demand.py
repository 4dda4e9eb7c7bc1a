"""Who carries what, and how much of it customers want: the demand side of the demo world."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from retail.demo.catalogue import launch_curve
from retail.demo.network import StoreDynamics

# Units sold per full year in a 3,000-store world; the level is scaled to n_stores / 3000.
SALES_TARGET = {2024: 29_000, 2025: 31_000}
REFERENCE_STORES = 3000
# Share of demand expected to be lost to stockouts under the replenishment rule in trading.py;
# calibration inflates demand by it so that units *sold* hit the targets.
EXPECTED_LOST_SHARE = 0.07
# Share of buying customers who take two units (trading.py); part of expected demand.
PAIR_SHARE = 0.05
CATEGORY_SHARE = {"audio": 1.25, "camera": 1.0, "ar": 0.8}


@dataclass
class Cells:
    """One entry per (store, sku) that a store carries at some point of the history."""

    store: np.ndarray
    sku: np.ndarray
    base: np.ndarray          # demand per day at level 1, peak of launch curve, no season
    demand_start: np.ndarray  # first day with demand (launch, opening or day 0)
    demand_end: np.ndarray    # first day without demand (end of life, store stop or end)
    list_day: np.ndarray      # day the first stock arrives


@dataclass
class Promotions:
    cell: np.ndarray
    start: np.ndarray
    end: np.ndarray
    discount: np.ndarray
    uplift: np.ndarray


def sku_days(products: pd.DataFrame, start: date) -> tuple[np.ndarray, np.ndarray]:
    epoch = pd.Timestamp(start)
    launch = (pd.to_datetime(products["launch_date"]) - epoch).dt.days.to_numpy()
    eol = (pd.to_datetime(products["eol_date"]) - epoch).dt.days.to_numpy()
    return launch, eol


def curve_matrix(
    launch: np.ndarray, eol: np.ndarray, days: int, rng: np.random.Generator,
    ramp_scale: float = 1.0, decline: float = 0.75,
) -> np.ndarray:
    """Launch curve per sku (rows) and day (columns); the ramp takes 56-84 days x `ramp_scale`."""
    ramp = rng.integers(56, 85, len(launch))
    if ramp_scale != 1.0:
        ramp = np.maximum(np.round(ramp * ramp_scale), 7).astype(int)
    t = np.arange(days)[None, :] - launch[:, None]
    return launch_curve(t, (eol - launch)[:, None], ramp[:, None], decline)


def sku_popularity(products: pd.DataFrame, brands: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    share = products["brand_code"].map(brands.set_index("code")["share"]).to_numpy(float)
    category = products["category"].map(CATEGORY_SHARE).to_numpy(float)
    price = (products["list_price_cny"].to_numpy(float) / 2000.0) ** -0.5
    # Models are hits or misses as a whole; variants then split the model's demand unevenly.
    model_key = (products["brand_code"] + "|" + products["model"]).to_numpy()
    models, model_idx = np.unique(model_key, return_inverse=True)
    model_luck = rng.lognormal(0.0, 0.6, len(models))[model_idx]
    variant_luck = rng.lognormal(0.0, 0.35, len(products))
    pop = share * category * price * model_luck * variant_luck
    return pop / pop.mean()


def choose_assortment(
    dyn: StoreDynamics, launch: np.ndarray, eol: np.ndarray, curve: np.ndarray, pop: np.ndarray,
    days: int, rng: np.random.Generator,
) -> Cells:
    """Each store carries 15-45 of the SKUs alive at a time, larger stores more, popular SKUs more often."""
    n_stores, n_skus = len(dyn.size), len(launch)
    alive_per_day = (curve > 0).sum(axis=0)
    typical_alive = max(float(np.median(alive_per_day)), 1.0)
    size_rank = np.argsort(np.argsort(dyn.size)) / max(n_stores - 1, 1)
    target = 15 + 30 * size_rank
    prob = np.clip(target[:, None] / typical_alive * np.sqrt(pop)[None, :], 0.0, 0.95)
    carried = rng.random((n_stores, n_skus)) < prob
    store, sku = np.nonzero(carried)

    live_from = np.maximum(dyn.open_day[store], 0)
    demand_start = np.maximum(launch[sku], live_from)
    demand_end = np.minimum(np.minimum(eol[sku], dyn.stop_day[store]), days)
    # New models reach stores a few days to three weeks after launch; smaller stores later.
    launch_delay = rng.integers(0, 15, len(store)) + np.where(dyn.size[store] < 1.0, 7, 0)
    list_day = np.where(launch[sku] > live_from, launch[sku] + launch_delay, live_from)
    keep = list_day < demand_end - 7
    store, sku = store[keep], sku[keep]
    affinity = rng.lognormal(0.0, 0.3, len(store))
    return Cells(
        store=store, sku=sku, base=dyn.size[store] * pop[sku] * affinity,
        demand_start=demand_start[keep], demand_end=demand_end[keep], list_day=list_day[keep],
    )


def draw_promotions(
    cells: Cells, days: int, rng: np.random.Generator,
    share: float = 0.22, uplift: tuple[float, float] = (1.5, 2.5),
) -> Promotions:
    """Store x sku promotions of one or two weeks, at most one per cell in each 365-day block.

    `share` of the cells get one in a block; demand is multiplied by uniform(*uplift) while it runs.
    """
    parts = []
    for block in range(0, days, 365):
        has = rng.random(len(cells.store)) < share
        idx = np.nonzero(has)[0]
        start = block + rng.integers(0, 351, len(idx))
        length = rng.choice([7, 14], size=len(idx), p=[0.6, 0.4])
        parts.append((idx, start, start + length))
    cell = np.concatenate([p[0] for p in parts])
    start = np.concatenate([p[1] for p in parts])
    end = np.concatenate([p[2] for p in parts])
    start = np.maximum(start, cells.list_day[cell])
    end = np.minimum(np.minimum(end, cells.demand_end[cell]), days)
    keep = start < end
    cell, start, end = cell[keep], start[keep], end[keep]
    return Promotions(
        cell=cell, start=start, end=end,
        discount=rng.uniform(0.10, 0.20, len(cell)), uplift=rng.uniform(uplift[0], uplift[1], len(cell)),
    )


def expected_daily_demand(cells: Cells, promos: Promotions, curve: np.ndarray, season: np.ndarray) -> np.ndarray:
    """Expected network demand per day at level 1 (exact expectation of the simulated demand)."""
    n_skus, days = curve.shape
    weight = np.zeros((n_skus, days + 1))
    np.add.at(weight, (cells.sku, cells.demand_start), cells.base)
    np.add.at(weight, (cells.sku, cells.demand_end), -cells.base)
    extra = cells.base[promos.cell] * (promos.uplift - 1.0)
    np.add.at(weight, (cells.sku[promos.cell], promos.start), extra)
    np.add.at(weight, (cells.sku[promos.cell], promos.end), -extra)
    active_base = np.cumsum(weight, axis=1)[:, :days]
    return season * (active_base * curve).sum(axis=0)


def calibrate_level(expected: np.ndarray, start: date, n_stores: int) -> np.ndarray:
    """Network level per day so that expected units sold hit SALES_TARGET in each full year.

    The level moves linearly between the middles of the calibrated years, so the
    world grows smoothly instead of jumping on 1 January.
    """
    days = len(expected)
    dates = pd.date_range(start, periods=days, freq="D")
    scale = n_stores / REFERENCE_STORES / (1.0 - EXPECTED_LOST_SHARE) / (1.0 + PAIR_SHARE)
    years = [y for y in sorted(SALES_TARGET) if (dates.year == y).sum() >= 365]
    if not years or expected.sum() <= 0:
        per_day = np.mean(list(SALES_TARGET.values())) / 365.0 * scale
        return np.full(days, per_day * days / max(expected.sum(), 1e-9))
    knots = np.array([np.nonzero((dates.year == y) & (dates.month == 7) & (dates.day == 1))[0][0] for y in years])
    basis = np.stack([_hat(np.arange(days), knots, j) for j in range(len(knots))])
    lhs = np.array([[(basis[j] * expected)[dates.year == y].sum() for j in range(len(knots))] for y in years])
    rhs = np.array([SALES_TARGET[y] * scale for y in years])
    coef = np.linalg.solve(lhs, rhs)
    if (coef <= 0).any():
        coef = np.full(len(knots), rhs.sum() / lhs.sum())
    return coef @ basis


def _hat(x: np.ndarray, knots: np.ndarray, j: int) -> np.ndarray:
    """Piecewise-linear interpolation weight of knot j, flat beyond the outer knots."""
    if len(knots) == 1:
        return np.ones(len(x), dtype=float)
    unit = np.zeros(len(knots))
    unit[j] = 1.0
    return np.interp(x, knots, unit)


def regional_preference(
    cells: Cells, store_province: np.ndarray, sku_brand: np.ndarray, sigma: float, rng: np.random.Generator,
) -> None:
    """Multiply each cell's demand by a lognormal(0, sigma) taste of its store's province for its brand."""
    provinces, prov = np.unique(store_province, return_inverse=True)
    brands, brand = np.unique(sku_brand, return_inverse=True)
    taste = rng.lognormal(0.0, sigma, (len(provinces), len(brands)))
    cells.base = cells.base * taste[prov[cells.store], brand[cells.sku]]


def weekly_truth(
    cells: Cells, promos: Promotions, curve: np.ndarray, season: np.ndarray, level: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected demand of every cell and week (day 0 starts week 0): the mean the simulation draws from.

    Each day a live cell's demand is Poisson(rate) customers, and a buying customer takes a second
    unit with probability PAIR_SHARE (trading.simulate), so its mean is
    rate + PAIR_SHARE x (1 - exp(-rate)); this sums it over the week, before stockouts censor it.
    Returns (cell, week, mean) for the cell-weeks with a positive mean.
    """
    n_cells = len(cells.store)
    days = curve.shape[1]
    mult = np.ones(n_cells)
    starts = pd.Series(np.arange(len(promos.cell))).groupby(promos.start).agg(list).to_dict()
    ends = pd.Series(np.arange(len(promos.cell))).groupby(promos.end).agg(list).to_dict()
    order = np.argsort(cells.demand_start, kind="stable")
    acc = np.zeros(n_cells)
    out_cell, out_week, out_mean = [], [], []
    for d in range(days):
        for p in starts.get(d, ()):
            mult[promos.cell[p]] = promos.uplift[p]
        for p in ends.get(d, ()):
            mult[promos.cell[p]] = 1.0
        begun = order[: np.searchsorted(cells.demand_start[order], d, side="right")]
        live = begun[cells.demand_end[begun] > d]
        rate = cells.base[live] * (level[d] * season[d]) * curve[cells.sku[live], d] * mult[live]
        acc[live] += rate + PAIR_SHARE * -np.expm1(-rate)
        if d % 7 == 6 or d == days - 1:
            nz = np.nonzero(acc > 0)[0]
            out_cell.append(nz)
            out_week.append(np.full(len(nz), d // 7))
            out_mean.append(acc[nz].copy())
            acc[:] = 0.0
    return np.concatenate(out_cell), np.concatenate(out_week), np.concatenate(out_mean)
