"""Small hand-made forecast frames in the shape forecasting.forecast returns."""

from __future__ import annotations

import pandas as pd

MONDAY = pd.Timestamp("2026-03-02")


def forecast_frame(means: dict[tuple[str, str], list[float]], *, start=MONDAY, store_phi=0.0, sku_phi=0.0):
    rows = []
    for (store, sku), weekly in means.items():
        for h, mean in enumerate(weekly):
            rows.append({"store": store, "sku": sku, "week": start + pd.Timedelta(weeks=h), "mean": mean})
    frame = pd.DataFrame(rows)
    frame.attrs["dispersion"] = {"store": store_phi, "sku": [sku_phi]}
    return frame


def products_frame(**overrides):
    base = {"sku": ["A"], "brand": ["Acme"], "pack_size": [1], "eol_date": [pd.NaT], "list_price": [1000.0],
            "unit_cost": [600.0], "lead_time_weeks": [2], "moq": [1]}
    base.update(overrides)
    return pd.DataFrame(base)
