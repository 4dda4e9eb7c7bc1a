"""Wide CSVs of unit sales (one row per series, one column per period) as a forecasting input,
and the rolling-origin backtest on them: `python -m forecasting.backtest --wide FILE`.

A wide file such as Hyndman's `carparts` (expsmooth; 2,674 monthly car-part series) has no
stores, no product attributes and no calendar. `read_wide` reads its periods as consecutive
weeks of one store, so `forecasting.forecast` takes it like any sales frame: every series is
a SKU of store `WIDE_STORE`, with an explicit row (zeros included, `in_stock` 1) for every
period it has a value. Empty cells are missing periods, not zeros: a series with any is left
out (`dropped`), since its history or actuals would be incomplete.

`run_wide` scores it as `forecasting.backtest.run` scores a demo world: `folds` rolling origins
`horizon` periods apart, every method seeing only the periods before the origin, the same
baselines (fitted on each level's own series) and metrics. With one store and no products
the levels are `store_sku` (here the same series as SKU x network) and `total` (all series
summed). Weights are the units of the last `horizon` periods before the origin (no prices:
every unit weighs 1); series that never sold before the origin have no scale and no weight.
No holiday calendar is used unless one is passed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forecasting import calendar, methods, scoring
from forecasting.classify import demand_classes

WIDE_STORE = "all"
DEFAULT_START = pd.Timestamp("2000-01-03")  # a Monday, when the period labels are not dates
LEVELS = ("store_sku", "total")


def no_holidays() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "kind": pd.Series(dtype=str)})


def _first_monday(label) -> pd.Timestamp:
    """The Monday of the week holding the first period's label (`Jan-98`, `1998-01`, ...)."""
    for fmt in ("%b-%y", "%b-%Y", None):
        try:
            day = pd.to_datetime(str(label), format=fmt) if fmt else pd.to_datetime(str(label))
        except (TypeError, ValueError):
            continue
        return pd.Timestamp(day).to_period("W-SUN").start_time
    return DEFAULT_START


def read_wide(path: str | Path, *, start=None) -> tuple[pd.DataFrame, pd.Index]:
    """Long sales frame (store, sku, week, units, in_stock) from a wide CSV, and the dropped series.

    The first column names the series; every other column is one period, oldest first, read as
    consecutive Mondays from `start` (default: the Monday of the first period's label when it
    parses as a date, else 2000-01-03). Series with an empty cell are dropped (returned).
    """
    frame = pd.read_csv(path, index_col=0)
    if frame.shape[1] == 0:
        raise ValueError(f"{path}: no period columns (first column: series name, then one column per period)")
    if frame.index.has_duplicates:
        raise ValueError(f"{path}: duplicate series names, e.g. {frame.index[frame.index.duplicated()][0]!r}")
    values = frame.apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & frame.notna()
    if bad.any().any():
        raise ValueError(f"{path}: {int(bad.sum().sum())} cells are not numbers")
    incomplete = values.isna().any(axis=1)
    values = values[~incomplete]
    units = values.to_numpy(dtype=float)
    if (units < 0).any() or not np.allclose(units, np.round(units)):
        raise ValueError(f"{path}: units must be whole numbers >= 0")
    start = _first_monday(frame.columns[0]) if start is None else pd.Timestamp(start)
    weeks = pd.date_range(start, periods=values.shape[1], freq="7D")
    n_series, n_weeks = units.shape
    sales = pd.DataFrame({
        "store": WIDE_STORE,
        "sku": np.repeat(values.index.astype(str).to_numpy(), n_weeks),
        "week": np.tile(weeks.to_numpy(), n_series),
        "units": units.ravel(),
        "in_stock": 1.0,
    })
    return sales, frame.index[incomplete].astype(str)


def dense(sales: pd.DataFrame) -> tuple[pd.Index, pd.DatetimeIndex, np.ndarray]:
    """Series (sku) x consecutive weeks of units from a long frame (absent weeks: zero)."""
    weeks = pd.date_range(sales["week"].min(), sales["week"].max(), freq="7D")
    skus = pd.Index(pd.unique(sales["sku"]))
    code = skus.get_indexer(sales["sku"])
    col = ((sales["week"] - weeks[0]) // pd.Timedelta(weeks=1)).to_numpy()
    units = np.zeros((len(skus), len(weeks)))
    units[code, col] = sales["units"].to_numpy(dtype=float)
    return skus, weeks, units


def run_wide(sales: pd.DataFrame, *, folds: int = 2, horizon: int = 13, quantiles=(0.5, 0.8, 0.95),
             baseline_names=None, options=None, holidays=None, progress: bool = False):
    """Score ours and the baselines on one store's series.

    Returns (table, table by demand class, examples for `backtest.plot`, choices): `choices`
    maps each origin to the model choice `forecast` recorded in its output's attrs (if any).
    """
    from forecasting.core import forecast

    holidays = no_holidays() if holidays is None else holidays
    if not isinstance(holidays, pd.DataFrame):
        holidays = calendar.load_holidays(holidays)
    baselines = methods.methods(methods.BASELINE)
    if baseline_names is not None:
        baselines = {k: v for k, v in baselines.items() if k in baseline_names}
    skus, weeks, units = dense(sales)
    rows, class_rows, choices, examples = [], [], {}, None
    for fold in range(folds, 0, -1):
        origin = len(weeks) - fold * horizon
        if origin < 2:
            continue
        hist, act = units[:, :origin], units[:, origin : origin + horizon]
        weight = hist[:, -horizon:].sum(axis=1)
        # Every series is listed from the first period: carried (in stock) from then on.
        pairs = pd.DataFrame({"store": WIDE_STORE, "sku": skus, "start": weeks[0]})
        ours = forecast(sales, horizon, quantiles, assortment=pairs, start=weeks[origin], holidays=holidays,
                        progress=progress, **(options or {}))
        choices[str(weeks[origin].date())] = ours.attrs.get("choice")
        mean, qs = _ours_matrix(ours, skus, horizon, quantiles)
        total = ours.assign(total="all")
        t_mean, t_qs = _ours_total(total, horizon, quantiles)
        for level in LEVELS:
            if level == "store_sku":
                h, a, w, scored = hist, act, weight, {scoring.OURS: (mean, qs)}
            else:
                h, a, w = hist.sum(0, keepdims=True), act.sum(0, keepdims=True), np.ones(1)
                scored = {scoring.OURS: (t_mean, t_qs)}
            for name, method in baselines.items():
                if method.requires == "statsforecast" and len(h) > 5000:
                    continue
                scored[name] = scoring.baseline(method, h, weeks[:origin], horizon, quantiles, holidays)
            for name, (m, q) in scored.items():
                rows.append(scoring.score(level, name, fold, h, a, w, m, q, quantiles))
            if level == "store_sku" and fold == 1:
                examples = (skus, weeks, h, a, mean, qs, origin)
            if level == "store_sku":
                kinds = demand_classes(h)
                for kind in np.unique(kinds[w > 0]):
                    k = kinds == kind
                    for name, (m, q) in scored.items():
                        row = scoring.score(level, name, fold, h[k], a[k], w[k], m[k], q[k], quantiles)
                        class_rows.append({**row, "class": kind, "series": int(k.sum()), "weight": w[k].sum()})
    table = pd.DataFrame(rows).groupby(["level", "method"], sort=False).mean(numeric_only=True)
    return table.drop(columns="fold").reset_index(), scoring.by_class(class_rows), examples, choices


def _ours_matrix(frame: pd.DataFrame, skus: pd.Index, horizon: int, quantiles):
    from forecasting.validation import quantile_columns

    slot = skus.get_indexer(frame["sku"])
    step = ((frame["week"] - frame["week"].min()) // pd.Timedelta(weeks=1)).to_numpy()
    mean = np.zeros((len(skus), horizon))
    mean[slot, step] = frame["mean"].to_numpy()
    qs = np.zeros((len(skus), horizon, len(quantiles)))
    for j, col in enumerate(quantile_columns(quantiles)):
        qs[slot, step, j] = frame[col].to_numpy()
    return mean, qs


def _ours_total(frame: pd.DataFrame, horizon: int, quantiles):
    from forecasting.aggregate import aggregate

    out = aggregate(frame, ["total"])
    return _ours_matrix(out.assign(sku="all"), pd.Index(["all"]), horizon, quantiles)
