"""Top-down: how a SKU's network rate splits over stores.

Expected demand of SKU s at store i in week t is  rate[s, t] x size[i] x affinity[i, s]:
- `size` is how much a store sells relative to the others, estimated on all its SKUs
  and shrunk toward its peer group (market x size class): ~30 units in three years is
  noisy, and strong shrinkage (40 units of prior) won the backtest;
- `affinity` is how much more or less this store sells of this SKU than its size says,
  a Poisson-gamma (empirical Bayes) ratio shrunk toward 1. A store x SKU series holds a
  handful of units, so the backtest wants heavy shrinkage (30 units of prior): a
  store's own few sales of a SKU are mostly noise and promotions.
Sold units are compared with exposure (`in_stock` over the weeks the store carried the SKU,
see `forecasting.panel`), so weeks out of stock are read as censored demand rather than as
weak demand. Summing store forecasts gives the SKU
forecast exactly: reconciliation by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.panel import Panel


def sku_rates(panel: Panel, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Network units and size-weighted exposure per (sku, week), each (n_sku, n_weeks)."""
    shape = (len(panel.skus), panel.n_weeks)
    cell = panel.sku * panel.n_weeks + panel.week
    units = np.bincount(cell, panel.units, shape[0] * shape[1]).reshape(shape)
    exposure = np.bincount(cell, size[panel.store] * panel.in_stock, shape[0] * shape[1]).reshape(shape)
    return units, exposure


def store_sizes(
    panel: Panel,
    stores: pd.DataFrame | None,
    *,
    prior_units: float = 40.0,
    rounds: int = 3,
) -> np.ndarray:
    """Relative selling power of each store (mean about 1)."""
    n_stores = len(panel.stores)
    size = np.ones(n_stores)
    sold = np.bincount(panel.store, panel.units, n_stores)
    peer = _peer_groups(panel.stores, stores)
    for _ in range(rounds):
        units, exposure = sku_rates(panel, size)
        rate = units / np.maximum(exposure, 1e-12)
        expected = np.bincount(panel.store, rate[panel.sku, panel.week] * panel.in_stock, n_stores)
        # Peer-group prior: pooled ratio of the group, then each store shrunk toward it.
        n_peer = int(peer.max()) + 1
        prior = (np.bincount(peer, sold, n_peer) + prior_units) / (np.bincount(peer, expected, n_peer) + prior_units)
        size = (sold + prior_units * prior[peer]) / (expected + prior_units)
        size = np.where(expected > 0, size, prior[peer])
        size /= np.average(size, weights=np.maximum(expected, 1e-12)) if expected.sum() > 0 else 1.0
    return size


def _peer_groups(codes: pd.Index, stores: pd.DataFrame | None) -> np.ndarray:
    keys = [c for c in ("market", "size_class") if stores is not None and c in stores.columns]
    if not keys:
        return np.zeros(len(codes), dtype=np.int64)
    attrs = stores.reindex(codes)[keys].astype(str).fillna("?")
    return pd.MultiIndex.from_frame(attrs).factorize()[0].astype(np.int64)


def affinities(
    panel: Panel,
    size: np.ndarray,
    pairs_store: np.ndarray,
    pairs_sku: np.ndarray,
    *,
    prior_units: float = 30.0,
    half_life: float = 52.0,
) -> np.ndarray:
    """Store x SKU ratio of sold to expected units, shrunk toward 1, for the given pairs."""
    units, exposure = sku_rates(panel, size)
    rate = units / np.maximum(exposure, 1e-12)
    weight = 0.5 ** ((panel.n_weeks - 1 - panel.week) / half_life)
    expected = rate[panel.sku, panel.week] * size[panel.store] * panel.in_stock * weight
    n_pairs = len(panel.pair_keys)
    sold = np.bincount(panel.pair, panel.units * weight, n_pairs)
    exp = np.bincount(panel.pair, expected, n_pairs)
    ratio = (sold + prior_units) / (exp + prior_units)
    # Pairs never sold or ranged before (a new launch, a new store) keep affinity 1.
    if n_pairs == 0:
        return np.ones(len(pairs_store))
    slot = panel.pair_keys.get_indexer(pairs_store.astype(np.int64) * len(panel.skus) + pairs_sku)
    return np.where(slot >= 0, ratio[np.clip(slot, 0, None)], 1.0)
