"""Scoring a forecast against what sold, shared by the backtest of a demo world (forecasting.backtest) and
of a wide CSV (forecasting.wide): a baseline's mean and spread, one row of scores, scores by demand class."""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting import metrics
from forecasting.distribution import count_quantiles, excess_dispersion
from forecasting.history import History
from forecasting.validation import quantile_columns

OURS = "ours"


def baseline(method, history, weeks, horizon, quantiles, holidays):
    """Mean from the method; spread from its own error on the horizon before the origin."""
    series = History.from_frame(pd.DataFrame(history, columns=weeks))
    mean = np.clip(method(series, horizon, holidays=holidays).to_numpy(), 0, None)
    check = np.clip(method(series.until(max(len(weeks) - horizon, 0)), horizon, holidays=holidays).to_numpy(), 0, None)
    phi = excess_dispersion(history[:, -horizon:].ravel(), check.ravel())
    qs = count_quantiles(mean.ravel(), phi, quantiles).reshape(*mean.shape, len(quantiles))
    return mean, qs


def score(level, method, fold, history, actual, weight, mean, qs, quantiles):
    row = {
        "level": level,
        "method": method,
        "fold": fold,
        "wrmsse": metrics.wrmsse(history, actual, mean, weight),
        "wmsse": metrics.wmsse(history, actual, mean, weight),
        "wspl": metrics.wspl(history, actual, qs, quantiles, weight),
        "bias": metrics.bias(actual, mean),
    }
    for j, col in enumerate(quantile_columns(quantiles)):
        below, at_or_below = metrics.calibration(actual, qs[..., j])
        row[f"{col}_below"], row[f"{col}_at_or_below"] = below, at_or_below
    return row


def by_class(rows) -> pd.DataFrame:
    """Scores by demand class (fold means), with each class's share of the level's weight."""
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    total = frame.groupby(["level", "method", "fold"])["weight"].transform("sum")
    frame["weight_share"] = frame["weight"] / total
    keys = ["level", "class", "method"]
    out = frame.groupby(keys, sort=False).mean(numeric_only=True).drop(columns=["fold", "weight"]).reset_index()
    return out[[*keys, "series", "weight_share", "wrmsse", "wmsse", "wspl", "bias"]]
