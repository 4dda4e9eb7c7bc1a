"""Boundary checks for `forecast`: every refusal is a ValueError that says what to fix."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

SALES_COLUMNS = ("store", "sku", "week", "units")


def quantile_columns(quantiles: Iterable[float]) -> list[str]:
    """Column names for quantiles: 0.5 -> "p50", 0.95 -> "p95"."""
    return [f"p{round(100 * q)}" for q in quantiles]


def check_quantiles(quantiles) -> tuple[float, ...]:
    try:
        qs = tuple(float(q) for q in quantiles)
    except (TypeError, ValueError) as exc:
        raise ValueError("quantiles must be a sequence of numbers such as (0.5, 0.8, 0.95)") from exc
    if not qs:
        raise ValueError("quantiles is empty: pass at least one level, e.g. (0.5,)")
    bad = [q for q in qs if not (0.0 < q < 1.0) or np.isnan(q)]
    if bad:
        raise ValueError(f"quantiles must lie strictly between 0 and 1; got {bad}")
    names = quantile_columns(qs)
    if len(set(names)) != len(names):
        raise ValueError(f"quantiles {qs} give duplicate column names {names}: pass distinct percentages")
    return qs


def check_horizon(horizon) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)):
        raise ValueError(f"horizon must be a whole number of weeks; got {horizon!r}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 week; got {horizon}")
    return int(horizon)


def check_week(value, name: str) -> pd.Timestamp:
    try:
        week = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a date; got {value!r}") from exc
    if week.day_of_week != 0 or week != week.normalize():
        raise ValueError(f"{name} must be a Monday at midnight (start of the ISO week); got {week}")
    return week.tz_localize(None) if week.tzinfo else week


def _weeks_as_datetime(week: pd.Series, frame: str) -> pd.Series:
    try:
        week = pd.to_datetime(week)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{frame}.week must hold dates (the Monday of each ISO week)") from exc
    if getattr(week.dt, "tz", None) is not None:
        week = week.dt.tz_localize(None)
    if week.isna().any():
        raise ValueError(f"{frame}.week has {int(week.isna().sum())} missing dates")
    not_monday = (week.dt.day_of_week != 0) | (week != week.dt.normalize())
    if not_monday.any():
        example = week[not_monday].iloc[0]
        raise ValueError(
            f"{frame}.week must be Mondays at midnight; {int(not_monday.sum())} rows are not "
            f"(first: {example.date()}, a {example.day_name()}). Use week.dt.to_period('W-SUN').dt.start_time."
        )
    return week.astype("datetime64[ns]")


def check_sales(sales: pd.DataFrame) -> pd.DataFrame:
    """Return a clean copy of `sales` (store, sku, week, units, in_stock, missed if given) or raise ValueError.

    The contract: a row per store, SKU and week with units sold; a week without a row, inside
    the weeks the store carried the SKU, sold nothing with the SKU in stock. `in_stock` (share
    of the week in stock, default 1) and `missed` (units customers asked for and could not
    get, default 0) say otherwise.
    """
    if not isinstance(sales, pd.DataFrame):
        raise ValueError(f"sales must be a pandas DataFrame; got {type(sales).__name__}")
    missing = [c for c in SALES_COLUMNS if c not in sales.columns]
    if missing:
        raise ValueError(
            f"sales is missing columns {missing}; it needs {list(SALES_COLUMNS)} (+ optional in_stock, missed)"
        )
    df = sales[[c for c in (*SALES_COLUMNS, "in_stock", "missed") if c in sales.columns]].copy()
    for key in ("store", "sku"):
        if df[key].isna().any():
            raise ValueError(f"sales.{key} has {int(df[key].isna().sum())} missing values")
    df["week"] = _weeks_as_datetime(df["week"], "sales")
    units = pd.to_numeric(df["units"], errors="coerce")
    if units.isna().any():
        raise ValueError(f"sales.units has {int(units.isna().sum())} missing or non-numeric values")
    if (units < 0).any():
        raise ValueError(
            f"sales.units has {int((units < 0).sum())} negative values: net returns out before forecasting"
        )
    if not np.allclose(units, np.round(units)):
        raise ValueError("sales.units must be whole numbers of units")
    df["units"] = units.astype("float64")
    if "in_stock" in df.columns:
        in_stock = pd.to_numeric(df["in_stock"], errors="coerce")
        if in_stock.isna().any() or ((in_stock < 0) | (in_stock > 1)).any():
            raise ValueError("sales.in_stock must be a fraction of the week between 0 and 1 on every row")
        df["in_stock"] = in_stock.astype("float64")
    else:
        df["in_stock"] = 1.0
    if "missed" in df.columns:
        missed = pd.to_numeric(df["missed"], errors="coerce")
        if missed.isna().any() or (missed < 0).any() or not np.allclose(missed, np.round(missed)):
            raise ValueError("sales.missed must be a whole number of units >= 0 on every row (0 when none)")
        df["missed"] = missed.astype("float64")
    # Integer keys: hashing three object columns of ~13M rows costs seconds.
    store_code = pd.factorize(df["store"])[0].astype(np.int64)
    sku_code = pd.factorize(df["sku"])[0].astype(np.int64)
    week_code = (df["week"].to_numpy().astype("datetime64[D]").astype(np.int64) // 7).astype(np.int64)
    key = (store_code * (sku_code.max() + 1 if len(df) else 1) + sku_code) * 100_000 + (week_code - week_code.min() if len(df) else 0)
    dup = pd.Series(key).duplicated().to_numpy()
    if dup.any():
        first = df.loc[dup, ["store", "sku", "week"]].iloc[0].tolist()
        raise ValueError(
            f"sales has {int(dup.sum())} duplicate (store, sku, week) rows (first: {first}); sum them first"
        )
    return df.reset_index(drop=True)


def check_products(products: pd.DataFrame | None) -> pd.DataFrame | None:
    if products is None:
        return None
    if not isinstance(products, pd.DataFrame):
        raise ValueError("products must be a DataFrame indexed by sku")
    df = products.set_index("sku") if "sku" in products.columns else products.copy()
    if df.index.has_duplicates:
        raise ValueError("products has duplicate sku values: one row per sku")
    for column in ("launch_date", "eol_date"):
        if column in df.columns:
            df[column] = pd.to_datetime(df[column])
    return df


def check_stores(stores: pd.DataFrame | None) -> pd.DataFrame | None:
    if stores is None:
        return None
    if not isinstance(stores, pd.DataFrame):
        raise ValueError("stores must be a DataFrame indexed by store")
    df = stores.set_index("store") if "store" in stores.columns else stores.copy()
    if df.index.has_duplicates:
        raise ValueError("stores has duplicate store values: one row per store")
    return df


def check_assortment(assortment: pd.DataFrame | None) -> pd.DataFrame | None:
    """store, sku and the optional start and end: the first and last week (Mondays, inclusive)
    the store carried the SKU; missing or NaT means the default of `panel.carried_windows`."""
    if assortment is None:
        return None
    if not isinstance(assortment, pd.DataFrame) or not {"store", "sku"} <= set(assortment.columns):
        raise ValueError("assortment must be a DataFrame with columns store and sku (+ optional start, end)")
    columns = [c for c in ("store", "sku", "start", "end") if c in assortment.columns]
    df = assortment[columns].drop_duplicates().reset_index(drop=True)
    for key in ("store", "sku"):
        if df[key].isna().any():
            raise ValueError(f"assortment.{key} has {int(df[key].isna().sum())} missing values")
    for column in ("start", "end"):
        if column not in df.columns:
            continue
        try:
            dates = pd.to_datetime(df[column])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"assortment.{column} must hold dates (Mondays) or be empty") from exc
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
        given = dates.dropna()
        bad = (given.dt.day_of_week != 0) | (given != given.dt.normalize())
        if bad.any():
            raise ValueError(
                f"assortment.{column} must be Mondays at midnight (the first or last week carried); "
                f"{int(bad.sum())} are not (first: {given[bad].iloc[0].date()})"
            )
        df[column] = dates.astype("datetime64[ns]")
    if {"start", "end"} <= set(df.columns) and (df["end"] < df["start"]).any():
        first = df.loc[df["end"] < df["start"], ["store", "sku"]].iloc[0].tolist()
        raise ValueError(f"assortment has rows whose end is before their start (first: {first})")
    if df.duplicated(["store", "sku"]).any():
        first = df.loc[df.duplicated(["store", "sku"]), ["store", "sku"]].iloc[0].tolist()
        raise ValueError(f"assortment has more than one row for a store and SKU (first: {first}): one window each")
    return df
