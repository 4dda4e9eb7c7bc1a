"""Exponential smoothing of each SKU's network rate (statsmodels), a candidate for `forecast`.

The SKU-level rate (units per unit of store size in stock, holiday factor removed) is a
dense weekly series, so statsmodels' damped-trend Holt model fits it directly. It is kept
as `method="ets"` so the backtest can put it against the life-cycle method on the same
folds (docs/forecasting.md); SKUs with less than `min_weeks` of history fall back to the
life-cycle method, which reads new launches from their analogues. It imports `lifecycle`
for that fallback; `lifecycle` does not import it (`forecasting.methods` registers both).
"""

from __future__ import annotations

import warnings

import numpy as np

from forecasting.history import History, life_mask
from forecasting.lifecycle import lifecycle


def ets(history: History, horizon: int, factor: np.ndarray, *, min_weeks: int = 26) -> np.ndarray:
    """Damped-trend Holt on each SKU's deseasonalised rate; `factor` is the holiday factor
    of the history weeks then the future weeks (as for `lifecycle.lifecycle`)."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    n_sku, n_weeks = history.units.shape
    out = lifecycle(history, horizon, factor)
    base = history.exposure * factor[None, :n_weeks]
    future = factor[n_weeks : n_weeks + horizon]
    mask = life_mask(history, horizon)
    for s in range(n_sku):
        live = np.nonzero(base[s] > 0)[0]
        if len(live) < min_weeks:
            continue
        y = history.units[s, live[0] :] / np.maximum(base[s, live[0] :], 1e-12)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = ExponentialSmoothing(y, trend="add", damped_trend=True, initialization_method="estimated").fit()
        path = np.clip(np.asarray(fit.forecast(horizon)), 0.0, None)
        out[s] = path * future * mask[s]
    return out
