"""Nothing to forecast is an empty answer, not a crash: no sales before the origin and no series in the assortment
(the replay's first origins on a small or young network, `forecasting.calibration` on a world of a few stores)."""
from __future__ import annotations

import pandas as pd

import forecasting

EMPTY_SALES = pd.DataFrame({"store": pd.Series([], dtype=str), "sku": pd.Series([], dtype=str),
                            "week": pd.Series([], dtype="datetime64[ns]"), "units": pd.Series([], dtype=int)})


def test_no_sales_and_an_empty_assortment_give_an_empty_frame_with_the_columns():
    out = forecasting.forecast(EMPTY_SALES, horizon=4, start=pd.Timestamp("2026-11-30"),
                               assortment=pd.DataFrame({"store": pd.Series([], dtype=str),
                                                        "sku": pd.Series([], dtype=str)}))
    assert len(out) == 0 and list(out.columns) == ["store", "sku", "week", "mean", "p50", "p80", "p95"]


def test_no_sales_and_one_series_give_its_weeks():
    out = forecasting.forecast(EMPTY_SALES, horizon=4, start=pd.Timestamp("2026-11-30"),
                               assortment=pd.DataFrame({"store": ["S1"], "sku": ["X"]}))
    assert len(out) == 4 and (out["mean"] >= 0).all() and out["week"].min() == pd.Timestamp("2026-11-30")
