"""Baseline methods, vectorised over series: the bar our forecast must clear.

Every method here has the same signature, `method(history, horizon) -> forecast`: `history` is
a `forecasting.history.History` (one row per series, one column per week, oldest first, zeros
for no sales; `History.from_frame` makes one from a wide frame) and the forecast a wide frame
with the same rows and one column per future week. They read the units only (no exposure,
life dates or holiday calendar); `forecasting.methods` registers them under its common
signature, which passes the calendar too. Intermittent
methods (Croston SBA, TSB) run as one numpy recursion over all series at once: about
0.05 ms a series, against milliseconds for a statsmodels fit per series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.history import History


def _frame(history: History, values: np.ndarray, horizon: int) -> pd.DataFrame:
    return history.forecast_frame(values, horizon)


def naive(history: History, horizon: int) -> pd.DataFrame:
    y = history.units
    last = y[:, -1] if y.shape[1] else np.zeros(len(y))
    return _frame(history, np.repeat(last[:, None], horizon, axis=1), horizon)


def seasonal_naive(history: History, horizon: int, *, period: int = 52) -> pd.DataFrame:
    """Same week last year; naive when there is less than a year of history."""
    y = history.units
    if y.shape[1] < period:
        return naive(history, horizon)
    idx = y.shape[1] - period + (np.arange(horizon) % period)
    return _frame(history, y[:, idx], horizon)


def moving_average(history: History, horizon: int, *, window: int = 13) -> pd.DataFrame:
    y = history.units
    mean = y[:, -window:].mean(axis=1) if y.shape[1] else np.zeros(len(y))
    return _frame(history, np.repeat(mean[:, None], horizon, axis=1), horizon)


def croston_sba(history: History, horizon: int, *, alpha: float = 0.1) -> pd.DataFrame:
    """Croston with the Syntetos-Boylan bias correction (1 - alpha/2) x size / interval."""
    y = history.units
    n = len(y)
    size = np.full(n, np.nan)
    interval = np.full(n, np.nan)
    since = np.ones(n)
    for t in range(y.shape[1]):
        sold = y[:, t] > 0
        first = sold & np.isnan(size)
        size[first] = y[first, t]
        interval[first] = since[first]
        update = sold & ~first
        size[update] += alpha * (y[update, t] - size[update])
        interval[update] += alpha * (since[update] - interval[update])
        since = np.where(sold, 1.0, since + 1.0)
    mean = np.nan_to_num((1 - alpha / 2) * size / interval)
    return _frame(history, np.repeat(mean[:, None], horizon, axis=1), horizon)


def tsb(history: History, horizon: int, *, alpha: float = 0.1, beta: float = 0.1) -> pd.DataFrame:
    """Teunter-Syntetos-Babai: demand probability updated every week, so it decays to zero
    when a product stops selling (Croston never does)."""
    y = history.units
    n = len(y)
    if y.shape[1] == 0:
        return _frame(history, np.zeros((n, horizon)), horizon)
    # As in statsforecast: both smoothers start at the first week of the history.
    prob = (y[:, 0] > 0).astype(float)
    size = np.where(y[:, 0] > 0, y[:, 0], np.nan)
    for t in range(1, y.shape[1]):
        sold = y[:, t] > 0
        prob += beta * (sold - prob)
        first = sold & np.isnan(size)
        size[first] = y[first, t]
        update = sold & ~first
        size[update] += alpha * (y[update, t] - size[update])
    mean = np.nan_to_num(prob * size)
    return _frame(history, np.repeat(mean[:, None], horizon, axis=1), horizon)


def zero(history: History, horizon: int) -> pd.DataFrame:
    """No sales at all. Not a forecast anyone would stock by: it is here because at store x
    SKU most future weeks sell nothing, and a score that this beats (per-series RMSSE does)
    ranks forecasts by how low they are, not by how good (docs/forecasting.md)."""
    return _frame(history, np.zeros((len(history.units), horizon)), horizon)


def _per_series(history: History, horizon: int, model_factory) -> pd.DataFrame:
    """One statsforecast model fitted per series that sold (a Python loop: slow)."""
    y = history.units
    out = np.zeros((len(y), horizon))
    for i, row in enumerate(y):
        if row.sum() > 0:
            out[i] = model_factory().forecast(y=row, h=horizon)["mean"]
    return _frame(history, np.clip(out, 0, None), horizon)


def sf_autoets(history: History, horizon: int) -> pd.DataFrame:
    """statsforecast's AutoETS without season (the optional `statsforecast` extra)."""
    from statsforecast.models import AutoETS

    return _per_series(history, horizon, lambda: AutoETS(season_length=1))


def sf_croston_optimized(history: History, horizon: int) -> pd.DataFrame:
    """statsforecast's CrostonOptimized (the optional `statsforecast` extra)."""
    from statsforecast.models import CrostonOptimized

    return _per_series(history, horizon, CrostonOptimized)
