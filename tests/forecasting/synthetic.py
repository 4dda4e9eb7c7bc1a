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
