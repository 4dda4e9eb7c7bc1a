"""Count distributions for quantiles: a few units a year need integers, not a normal band.

Demand in a cell is negative binomial with mean mu and variance mu + phi * mu**2
(phi = 0 is Poisson). phi comes from two sources, both estimated by rolling origin:
- `sku[h]`: error of the SKU-level rate forecast h weeks ahead, shared by every store
  carrying the SKU (a common gamma shock), so it does not average out when summing;
- `store`: store x SKU noise beyond the Poisson, independent across stores, measured around
  each SKU-week's actual total (`share_dispersion`), so that a SKU-level miss is not counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Dispersion:
    store: float
    sku: tuple[float, ...]  # by horizon step, 0-based

    def sku_at(self, step: np.ndarray) -> np.ndarray:
        sku = np.asarray(self.sku if self.sku else (0.0,))
        return sku[np.clip(step, 0, len(sku) - 1)]

    def cell(self, step: np.ndarray) -> np.ndarray:
        """phi of one store x SKU week."""
        g = self.sku_at(step)
        return self.store + g + self.store * g

    def as_dict(self) -> dict:
        return {"store": float(self.store), "sku": [float(x) for x in self.sku]}

    @classmethod
    def from_dict(cls, data: dict | None) -> Dispersion:
        if not data:
            return DEFAULT_DISPERSION
        return cls(float(data["store"]), tuple(float(x) for x in data["sku"]))


DEFAULT_DISPERSION = Dispersion(store=0.3, sku=(0.05,))


def excess_dispersion(actual: np.ndarray, mean: np.ndarray) -> float:
    """Moment estimate of phi in var = mu + phi mu^2 (pooled, never negative)."""
    ok = mean > 0
    if not ok.any():
        return 0.0
    a, m = actual[ok], mean[ok]
    return float(max(0.0, ((a - m) ** 2 - m).sum() / (m**2).sum()))


def share_dispersion(actual: np.ndarray, mean: np.ndarray, total: np.ndarray) -> float:
    """Moment estimate of phi for rows whose means are shares of a known total (never negative).

    Each row's `mean` sums, over its group, to the group's actual `total` (the stores of one SKU
    and week). Without extra noise the rows are multinomial, E (a - m)^2 = m (1 - m / total); the
    excess over that, pooled as in `excess_dispersion`, is phi. A miss of the group's total does
    not enter it (that is the SKU-level part of the spread).
    """
    ok = (mean > 0) & (total > 0)
    if not ok.any():
        return 0.0
    a, m, n = actual[ok], mean[ok], total[ok]
    return float(max(0.0, ((a - m) ** 2 - m * (1.0 - m / n)).sum() / (m**2).sum()))


def count_quantiles(mean: np.ndarray, phi: np.ndarray, quantiles) -> np.ndarray:
    """Integer quantiles (rows x quantiles) of NB(mean, phi); Poisson where phi is ~0."""
    mean = np.asarray(mean, dtype=float)
    phi = np.broadcast_to(np.asarray(phi, dtype=float), mean.shape)
    out = np.zeros((mean.size, len(quantiles)))
    live = mean > 0
    if not live.any():
        return out
    m, f = mean[live], np.maximum(phi[live], 1e-9)
    n = 1.0 / f
    p = n / (n + m)
    for j, q in enumerate(quantiles):
        out[live, j] = stats.nbinom.ppf(q, n, p)
    # ppf is monotone in q already; the running max guards against float ties.
    return np.maximum.accumulate(np.nan_to_num(out), axis=1)
