"""Coherent aggregates of a store x SKU forecast: SKU x province, SKU x network, brand x network.

Means add up. Quantiles do not, so the quantiles of an aggregate are recomputed from the
variance of the sum under the model of `forecasting.distribution`: within one SKU and week
the stores share the SKU-level shock (covariance phi_sku mu_i mu_j), across SKUs errors are
taken as independent. The result is a negative binomial matched to mean and variance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.distribution import Dispersion, count_quantiles

LEVELS = {
    "store_sku": ["store", "sku"],
    "sku_province": ["sku", "province"],
    "sku_network": ["sku"],
    "brand_network": ["brand"],
}


def quantile_levels(frame: pd.DataFrame) -> list[tuple[str, float]]:
    cols = [c for c in frame.columns if c.startswith("p") and c[1:].isdigit()]
    return [(c, int(c[1:]) / 100) for c in cols]


def aggregate(
    forecast_frame: pd.DataFrame,
    level: str | list[str],
    *,
    products: pd.DataFrame | None = None,
    stores: pd.DataFrame | None = None,
    dispersion: Dispersion | dict | None = None,
) -> pd.DataFrame:
    """Sum a `forecast()` frame to `level` (a name in LEVELS or a list of columns).

    `products` (indexed by sku, with brand/category) and `stores` (indexed by store, with
    province/city/tier/market) supply the attributes to group by. Returns the group columns,
    `week`, `mean` and the same quantile columns as the input, recomputed for the sum.
    """
    keys = LEVELS[level] if isinstance(level, str) and level in LEVELS else level
    if isinstance(keys, str):
        raise ValueError(f"unknown level {level!r}: use one of {sorted(LEVELS)} or a list of columns")
    frame = forecast_frame
    if dispersion is None:
        dispersion = Dispersion.from_dict(frame.attrs.get("dispersion"))
    elif isinstance(dispersion, dict):
        dispersion = Dispersion.from_dict(dispersion)
    frame = _attach(frame, keys, products, stores)
    qcols = quantile_levels(forecast_frame)
    if list(keys) == ["store", "sku"]:
        return frame[["store", "sku", "week", "mean", *[c for c, _ in qcols]]].copy()
    step = ((frame["week"] - frame["week"].min()) // pd.Timedelta(weeks=1)).to_numpy()
    mu = frame["mean"].to_numpy(dtype=float)
    phi_g = dispersion.sku_at(step)
    work = frame[[*keys, "sku", "week"]].copy() if "sku" not in keys else frame[[*keys, "week"]].copy()
    work["a"] = mu
    work["b"] = mu**2 * dispersion.store * (1 + phi_g)
    work["g"] = phi_g
    per_sku = work.groupby([*dict.fromkeys([*keys, "sku"]), "week"], sort=False, observed=True).agg(
        a=("a", "sum"), b=("b", "sum"), g=("g", "first")
    )
    per_sku["var"] = per_sku["a"] + per_sku["b"] + per_sku["g"] * per_sku["a"] ** 2
    out = per_sku.groupby([*keys, "week"], sort=True, observed=True)[["a", "var"]].sum().reset_index()
    out = out.rename(columns={"a": "mean"})
    phi = np.where(out["mean"] > 0, (out["var"] - out["mean"]) / np.maximum(out["mean"], 1e-12) ** 2, 0.0)
    qs = count_quantiles(out["mean"].to_numpy(), np.maximum(phi, 0.0), [q for _, q in qcols])
    for j, (col, _) in enumerate(qcols):
        out[col] = qs[:, j].astype(np.int64)
    return out.drop(columns="var")


def _attach(frame, keys, products, stores) -> pd.DataFrame:
    need = [k for k in keys if k not in frame.columns]
    if not need:
        return frame
    frame = frame.copy()
    for key in need:
        if products is not None and key in products.columns:
            source = products.set_index("sku") if "sku" in products.columns else products
            frame[key] = frame["sku"].map(source[key])
        elif stores is not None and key in stores.columns:
            source = stores.set_index("store") if "store" in stores.columns else stores
            frame[key] = frame["store"].map(source[key])
        else:
            raise ValueError(f"aggregate to {keys} needs column {key!r}: pass products= or stores= that hold it")
        if frame[key].isna().any():
            raise ValueError(f"{int(frame[key].isna().sum())} forecast rows have no {key!r}; complete products/stores")
    return frame
