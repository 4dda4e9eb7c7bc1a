"""The replayed year: store x SKU cells by weeks of uncensored demand, assortment and end of life.

Both policies face the same World. Demand is the recorded weekly units, uncensored where the SKU
was out of stock part of the week: the missing share of the week gets Poisson demand at the
store x SKU's in-stock rate of the year (seeded).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.panel import carried_rows
from forecasting.validation import check_assortment, check_sales

WEEKS = 52
TRAILING = 26  # weeks of sales a min/max rule averages
LEAD, REVIEW = 1, 1
SHELF_WEEKS = 13  # presence rule and rebalancing: weeks in which a unit on the shelf should sell


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
    if (data / "assortment.parquet").exists():  # the contract's sparse frame: write every carried week out
        sales = carried_rows(check_sales(sales), check_assortment(pd.read_parquet(data / "assortment.parquet")))
    for col in ("store", "sku"):
        sales[col] = sales[col].astype(str)
    products["sku"] = products["sku"].astype(str)
    stores["store"] = stores["store"].astype(str)
    return sales, products, stores


def build_world(sales, products, stores, *, weeks: int = WEEKS, seed: int = 7) -> World:
    last = sales["week"].max()
    start = last - pd.Timedelta(weeks=weeks - 1)
    grid = pd.date_range(start, periods=weeks, freq="7D")
    # The weeks with stock (or a sale): a whole week out of stock (in_stock 0) does not start or end a cell.
    stocked = ((sales["units"] > 0) | (sales["in_stock"] > 0)) if "in_stock" in sales else True
    window = sales[(sales["week"] >= start) & stocked]
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
