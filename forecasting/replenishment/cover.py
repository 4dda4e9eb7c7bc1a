"""Demand over a cover period (lead time + review period) as a negative binomial.

`forecast()` gives per-week means and a spread model in `frame.attrs["dispersion"]`
(see forecasting/distribution.py): a store x SKU week is NB with variance
mu + phi mu^2, phi = store + sku[h] + store * sku[h]. Summing weeks, the store noise is
independent week to week, but the SKU-level shock (the error of the SKU rate forecast)
persists, so it is summed as fully correlated across the cover weeks:

    var = sum_h (mu_h + store (1 + sku_h) mu_h^2) + (sum_h sqrt(sku_h) mu_h)^2

which reduces to the weekly variance for a one-week cover. Quantiles and tail
probabilities are those of the NB matched to that mean and variance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

DEFAULT_SPREAD = {"store": 0.3, "sku": [0.05]}
_POISSON_BELOW = 1e-6  # phi under this is Poisson: NB with n = 1/phi overflows


def spread_of(forecast: pd.DataFrame) -> tuple[float, np.ndarray]:
    data = forecast.attrs.get("dispersion") or DEFAULT_SPREAD
    sku = np.asarray(data.get("sku") or [0.0], dtype=float)
    return float(data.get("store", 0.0)), sku


def cover_demand(
    forecast: pd.DataFrame, *, as_of: pd.Timestamp, cover_weeks, cover_key: str = "store",
    group: pd.Series | None = None,
) -> pd.DataFrame:
    """Mean and phi of demand over [as_of, as_of + cover) per store x SKU of `forecast`.

    cover_weeks: weeks of cover, a number or a Series indexed by `cover_key` ("store" or "sku").
    group: optional Series mapping store to a group (e.g. its DC): the demand of the group's
        stores is summed, with the SKU-level shock shared by all of them.
    Returns store (or group), sku, cover_mean, cover_phi.
    """
    need = ["store", "sku", "week", "mean"]
    missing = [c for c in need if c not in forecast.columns]
    if missing:
        raise ValueError(f"forecast lacks columns {missing}: pass the frame returned by forecasting.forecast")
    store_phi, sku_phi = spread_of(forecast)
    step = ((forecast["week"] - as_of) // pd.Timedelta(weeks=1)).to_numpy()
    if isinstance(cover_weeks, pd.Series):
        cover = forecast[cover_key].map(cover_weeks).fillna(0).to_numpy(dtype=np.int64)
    else:
        cover = np.full(len(forecast), int(cover_weeks), dtype=np.int64)
    last = int(step.max()) if len(step) else -1
    if len(step) and int(cover.max()) - 1 > last:
        raise ValueError(f"forecast ends {last + 1} weeks after as_of={as_of.date()} but a cover period needs "
                         f"{int(cover.max())}: forecast with a longer horizon")
    if len(step) and int(step.min()) > 0:
        raise ValueError(f"forecast starts {int(step.min())} weeks after as_of={as_of.date()}: "
                         "forecast from as_of or earlier")
    keep = (step >= 0) & (step < cover)
    mu = forecast["mean"].to_numpy(dtype=float)[keep]
    # The SKU-level error grows with the distance from the forecast's origin, not from as_of.
    since_origin = ((forecast["week"] - forecast["week"].min()) // pd.Timedelta(weeks=1)).to_numpy()
    g = sku_phi[np.clip(since_origin[keep], 0, len(sku_phi) - 1)]
    key = forecast["store"] if group is None else forecast["store"].map(group)
    work = pd.DataFrame({
        "store": key.to_numpy()[keep],
        "sku": forecast["sku"].to_numpy()[keep],
        "a": mu,
        "b": mu + store_phi * (1 + g) * mu**2,
        "c": np.sqrt(g) * mu,
    })
    pairs = pd.DataFrame({"store": key.to_numpy(), "sku": forecast["sku"].to_numpy()}).drop_duplicates()
    sums = work.groupby(["store", "sku"], sort=False, observed=True)[["a", "b", "c"]].sum()
    out = pairs.merge(sums.reset_index(), on=["store", "sku"], how="left").fillna({"a": 0.0, "b": 0.0, "c": 0.0})
    mean = out["a"].to_numpy()
    var = out["b"].to_numpy() + out["c"].to_numpy() ** 2
    phi = np.where(mean > 0, np.maximum(var - mean, 0.0) / np.maximum(mean, 1e-12) ** 2, 0.0)
    return pd.DataFrame({"store": out["store"].to_numpy(), "sku": out["sku"].to_numpy(),
                         "cover_mean": mean, "cover_phi": phi})


def matrix_cover(mu: np.ndarray, *, store_phi: float, sku_phi: np.ndarray, offset: int, weeks: int):
    """cover_demand on a (series x horizon) matrix of weekly means from one forecast origin:
    mean and phi of the demand in columns offset .. offset + weeks - 1."""
    cols = np.arange(offset, offset + weeks)
    if cols[-1] >= mu.shape[1]:
        raise ValueError(f"forecast horizon {mu.shape[1]} is shorter than offset {offset} + cover {weeks}")
    m = mu[:, cols]
    g = np.asarray(sku_phi, dtype=float)[np.clip(cols, 0, len(sku_phi) - 1)]
    a = m.sum(1)
    var = (m + store_phi * (1 + g) * m**2).sum(1) + (np.sqrt(g) * m).sum(1) ** 2
    phi = np.where(a > 0, np.maximum(var - a, 0.0) / np.maximum(a, 1e-12) ** 2, 0.0)
    return a, phi


def _params(mean, phi):
    mean = np.asarray(mean, dtype=float)
    phi = np.maximum(np.broadcast_to(np.asarray(phi, dtype=float), mean.shape), _POISSON_BELOW)
    n = 1.0 / phi
    return n, n / (n + np.maximum(mean, 1e-300))


_RECURSION_MAX_MEAN = 40.0  # below this the pmf recursion is exact and much faster than scipy's ppf
_RECURSION_STEPS = 60


def quantile(mean, phi, level) -> np.ndarray:
    """Smallest integer s with P(D <= s) >= level; 0 where the mean is 0.

    Walks the NB pmf recursion pmf(k+1) = pmf(k) (n + k) / (k + 1) (1 - p) over the rows
    still below their level (most rows stop at 0 or 1 unit), far faster than scipy's ppf;
    large means and rows that need many steps fall back to scipy."""
    mean = np.asarray(mean, dtype=float)
    phi = np.broadcast_to(np.asarray(phi, dtype=float), mean.shape)
    level = np.broadcast_to(np.asarray(level, dtype=float), mean.shape)
    out = np.zeros(mean.shape, dtype=np.int64)
    rows = np.flatnonzero((mean > 0) & (mean <= _RECURSION_MAX_MEAN))
    m, f, q = mean[rows], phi[rows], level[rows] - 1e-12
    n, p = _params(m, f)
    poisson = f <= _POISSON_BELOW
    pmf = np.where(poisson, np.exp(-m), np.exp(n * np.log(p)))
    total = pmf.copy()
    for k in range(_RECURSION_STEPS):
        done = total >= q
        out[rows[done]] = k
        keep = ~done
        if not keep.any():
            break
        rows, m, n, p, q, poisson, pmf, total = (x[keep] for x in (rows, m, n, p, q, poisson, pmf, total))
        pmf = pmf * np.where(poisson, m / (k + 1), (n + k) / (k + 1) * (1 - p))
        total = total + pmf
    else:
        rest = rows
        nn, pp = _params(mean[rest], phi[rest])
        out[rest] = np.nan_to_num(stats.nbinom.ppf(level[rest], nn, pp)).astype(np.int64)
    big = mean > _RECURSION_MAX_MEAN
    if big.any():
        n, p = _params(mean[big], phi[big])
        out[big] = np.nan_to_num(stats.nbinom.ppf(level[big], n, p)).astype(np.int64)
    return out


def prob_at_least(k, mean, phi) -> np.ndarray:
    """P(D >= k): the chance that the k-th unit on the shelf sells within the cover."""
    k = np.asarray(k, dtype=float)
    mean = np.broadcast_to(np.asarray(mean, dtype=float), k.shape)
    n, p = _params(mean, np.broadcast_to(np.asarray(phi, dtype=float), k.shape))
    out = stats.nbinom.sf(k - 1, n, p)
    return np.where(k <= 0, 1.0, np.where(mean > 0, out, 0.0))
