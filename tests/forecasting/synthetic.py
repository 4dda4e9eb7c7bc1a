"""Small generated worlds with known answers for the forecasting tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

FIRST_WEEK = pd.Timestamp("2024-01-01")  # a Monday


def weeks(n: int, first: pd.Timestamp = FIRST_WEEK) -> pd.DatetimeIndex:
    return pd.date_range(first, periods=n, freq="7D")


def series(values, store="S1", sku="A", first: pd.Timestamp = FIRST_WEEK) -> pd.DataFrame:
    """One store x SKU series, one row per week (zeros kept as rows: the SKU was carried)."""
    values = np.asarray(values)
    return pd.DataFrame(
        {"store": store, "sku": sku, "week": weeks(len(values), first), "units": values.astype(int)}
    )


def world(
    n_stores: int = 40,
    n_weeks: int = 104,
    seed: int = 0,
    rate: float = 0.5,
    eol_week: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Poisson sales of three SKUs (two brands) over stores of different sizes.

    Returns sales, products (indexed by sku) and stores (indexed by store).
    """
    rng = np.random.default_rng(seed)
    sizes = rng.gamma(2.0, 0.5, n_stores)
    skus = ["A1", "A2", "B1"]
    frames = []
    for j, sku in enumerate(skus):
        lam = rate * (1 + 0.5 * j) * sizes[:, None] * np.ones((1, n_weeks))
        if eol_week is not None and sku == "A2":
            lam[:, eol_week:] = 0.0
        units = rng.poisson(lam)
        grid = pd.DataFrame(
            {
                "store": np.repeat([f"S{i}" for i in range(n_stores)], n_weeks),
                "sku": sku,
                "week": np.tile(weeks(n_weeks), n_stores),
                "units": units.ravel(),
                "in_stock": 1.0,
            }
        )
        if eol_week is not None and sku == "A2":
            grid = grid[grid["week"] < weeks(n_weeks)[eol_week]]
        frames.append(grid)
    sales = pd.concat(frames, ignore_index=True)
    eol = pd.NaT if eol_week is None else weeks(n_weeks)[eol_week] - pd.Timedelta(days=1)
    products = pd.DataFrame(
        {
            "brand": ["Acme", "Acme", "Bolt"],
            "category": ["audio", "audio", "camera"],
            "launch_date": [FIRST_WEEK] * 3,
            "eol_date": [pd.NaT, eol, pd.NaT],
            "list_price": [1499.0, 1999.0, 2999.0],
        },
        index=pd.Index(skus, name="sku"),
    )
    stores = pd.DataFrame(
        {
            "province": ["Guangdong" if i % 2 else "Zhejiang" for i in range(n_stores)],
            "market": "CN",
            "size_class": ["L" if s > 1 else "S" for s in sizes],
        },
        index=pd.Index([f"S{i}" for i in range(n_stores)], name="store"),
    )
    return sales, products, stores


def demo_like(n_stores: int = 300, n_skus: int = 40, seed: int = 0, per_store_year: float = 10.0):
    """A small world shaped like the demo: life-cycle curves, festival weeks, sparse sales.

    Returns sales (rows only for ranged weeks, with in_stock), products and stores.
    """
    sales, products, stores, _ = demo_like_truth(n_stores, n_skus, seed, per_store_year, future=0)
    return sales, products, stores


def demo_like_truth(n_stores: int = 300, n_skus: int = 40, seed: int = 0, per_store_year: float = 10.0,
                    future: int = 13):
    """`demo_like`, and the true mean demand of the `future` weeks after its 156 weeks of history.

    Returns sales (the 156 history weeks: a row for every live week of every pair the store
    carries, zeros included, with in_stock), products, stores and truth (store, sku, week,
    mean: the Poisson mean of demand in stock, every carried pair, live or not, in the future
    weeks). The demand of the future weeks follows the same life cycles and festivals.
    """
    rng = np.random.default_rng(seed)
    n_weeks = 156 + future
    grid = weeks(n_weeks, pd.Timestamp("2023-11-27"))
    launch = rng.integers(-60, 140, n_skus)
    life = rng.integers(78, 96, n_skus)
    ramp = rng.integers(8, 13, n_skus)
    t = np.arange(n_weeks)[None, :] - launch[:, None]
    after = np.clip((t - ramp[:, None]) / (life - ramp)[:, None], 0, 1)
    curve = np.where((t >= 0) & (t < life[:, None]), np.clip(t / ramp[:, None], 0, 1) ** 1.5 * (1 - 0.75 * after), 0)
    season = np.ones(n_weeks)
    for day, factor in (("-01-25", 1.3), ("-06-16", 1.6), ("-11-10", 1.7), ("-10-01", 1.4)):
        for year in (2024, 2025, 2026, 2027):
            when = pd.Timestamp(f"{year}{day}")
            if grid[0] <= when <= grid[-1] + pd.Timedelta(days=6):
                season[np.argmin(np.abs(grid - when))] *= factor
    size = rng.lognormal(0, 0.7, n_stores)
    pop = rng.lognormal(0, 0.6, n_skus)
    carried = rng.random((n_stores, n_skus)) < 0.35
    s_idx, k_idx = np.nonzero(carried)
    lam = (size[s_idx, None] * pop[k_idx, None] * rng.lognormal(0, 0.3, len(s_idx))[:, None]) * curve[k_idx] * season
    lam *= per_store_year * n_stores * 3 / lam[:, :156].sum()
    in_stock = np.where(rng.random(lam.shape) < 0.1, rng.random(lam.shape), 1.0)
    units = rng.poisson(lam * in_stock)
    live = curve[k_idx] > 0
    live[:, 156:] = False
    r, w = np.nonzero(live)
    sales = pd.DataFrame(
        {
            "store": np.array([f"S{i:04d}" for i in range(n_stores)])[s_idx[r]],
            "sku": np.array([f"K{j:03d}" for j in range(n_skus)])[k_idx[r]],
            "week": grid[w],
            "units": units[r, w],
            "in_stock": in_stock[r, w],
        }
    )
    products = pd.DataFrame(
        {
            "brand": [f"B{j % 8}" for j in range(n_skus)],
            "category": [("audio", "camera", "ar")[j % 3] for j in range(n_skus)],
            "launch_date": grid[0] + pd.to_timedelta(launch * 7, unit="D"),
            "eol_date": grid[0] + pd.to_timedelta((launch + life) * 7 - 1, unit="D"),
            "list_price": rng.choice([999.0, 1499.0, 2499.0, 3999.0], n_skus),
        },
        index=pd.Index([f"K{j:03d}" for j in range(n_skus)], name="sku"),
    )
    stores = pd.DataFrame(
        {
            "province": rng.choice(["Guangdong", "Zhejiang", "Sichuan", "Hong Kong"], n_stores),
            "market": "CN",
            "size_class": np.where(size > 1.5, "L", np.where(size > 0.7, "M", "S")),
        },
        index=pd.Index([f"S{i:04d}" for i in range(n_stores)], name="store"),
    )
    truth = pd.DataFrame(
        {
            "store": np.repeat(np.array([f"S{i:04d}" for i in range(n_stores)])[s_idx], future),
            "sku": np.repeat(np.array([f"K{j:03d}" for j in range(n_skus)])[k_idx], future),
            "week": np.tile(grid[156:], len(s_idx)),
            "mean": lam[:, 156:].ravel(),
        }
    )
    return sales, products, stores, truth
