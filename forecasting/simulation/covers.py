"""Rolling forecasts for the replay: demand over the cover period and the shelf horizon, per cell and week.

`forecasting.forecast` runs every `every` weeks from the sales before that week; the weeks in
between roll the last forecast forward. Made once and reused by every point of our sweep.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from forecasting import calendar, forecast
from forecasting.panel import stocked_windows
from forecasting.replenishment.cover import matrix_cover
from forecasting.simulation.world import LEAD, REVIEW, SHELF_WEEKS, World

HISTORY_WEEKS = 104  # history handed to each forecast (the life-cycle model needs no more)
EVERY = 6  # weeks between two forecasts


@dataclass
class Covers:
    """Forecast demand per cell and week over the cover period and over the selling horizon."""

    mean: np.ndarray
    phi: np.ndarray
    sell_mean: np.ndarray
    sell_phi: np.ndarray
    seconds: float
    origins: int


_SHARED: dict = {}  # what forked forecast workers read (sales, world, horizon, holidays), set by rolling_covers


def _forecast_origin(o: int):
    """One forecast from the sales before week `o` of the replay: (o, weekly means per live cell, spread)."""
    sales, world, horizon, holidays = _SHARED["sales"], _SHARED["world"], _SHARED["horizon"], _SHARED["holidays"]
    origin = world.weeks[o]
    history = sales[(sales["week"] < origin) & (sales["week"] >= origin - pd.Timedelta(weeks=HISTORY_WEEKS))]
    live = np.flatnonzero(world.active[:, o:o + horizon].any(1))
    assortment = pd.DataFrame({"store": world.store[live], "sku": world.sku[live]})
    # The weeks each pair was carried in the history (first to last week with stock), live cells first;
    # a live cell without stock in the history starts at the origin.
    carried = stocked_windows(history).set_index(["store", "sku"])
    others = carried[~carried.index.isin(pd.MultiIndex.from_frame(assortment))].reset_index()
    assortment = assortment.join(carried, on=["store", "sku"]).fillna({"start": origin, "end": origin})
    fc = forecast(history, horizon=horizon, products=world.products.set_index("sku"),
                  stores=world.stores.set_index("store"), assortment=pd.concat([assortment, others]), start=origin,
                  quantiles=(0.5,), holidays=holidays).iloc[: len(live) * horizon]  # the policy uses the mean, spread
    spread = fc.attrs.get("dispersion") or {"store": 0.3, "sku": [0.05]}
    key = pd.MultiIndex.from_arrays([world.store, world.sku])
    rows = key.get_indexer(pd.MultiIndex.from_frame(fc[["store", "sku"]].iloc[::horizon]))
    if (rows < 0).any() or not (fc["week"].to_numpy()[:horizon] == fc["week"].to_numpy()[horizon:2 * horizon]).all():
        raise RuntimeError("forecast rows are not one block of `horizon` weeks per store x SKU")
    return o, rows, fc["mean"].to_numpy(dtype=float).reshape(-1, horizon), spread


def rolling_covers(sales, world: World, *, every: int, progress: bool, workers: int = 1, holidays=None) -> Covers:
    """Forecast every `every` weeks (in `workers` forked processes) and keep, for each cell and
    week, the mean and phi of demand over lead + review and over the shelf horizon; the weeks
    between two origins roll the last forecast forward. Computed once, reused by every policy run.
    `holidays` (a date, kind frame or a CSV path; default data/holidays.csv) is loaded once and
    passed to every forecast."""
    n, weeks = world.demand.shape
    out = [np.zeros((n, weeks)) for _ in range(4)]
    horizon = every - 1 + max(LEAD + REVIEW, SHELF_WEEKS)
    began = time.perf_counter()
    origins = list(range(0, weeks, every))
    if not isinstance(holidays, pd.DataFrame):
        holidays = calendar.load_holidays(holidays)
    _SHARED.update(sales=sales, world=world, horizon=horizon, holidays=holidays)
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
