"""Known answers: what the forecast must say on worlds whose demand we wrote ourselves."""

import numpy as np
import pandas as pd
import pytest

import forecasting
from tests.forecasting.synthetic import FIRST_WEEK, series, weeks, world

NO_HOLIDAYS = pd.DataFrame({"date": pd.to_datetime([]), "kind": []})


def test_returns_one_row_per_series_and_week_with_contract_columns():
    sales, products, stores = world()
    out = forecasting.forecast(sales, horizon=5, products=products, stores=stores)
    assert list(out.columns) == ["store", "sku", "week", "mean", "p50", "p80", "p95"]
    n_series = len(sales[["store", "sku"]].drop_duplicates())
    assert len(out) == n_series * 5
    assert not out.duplicated(["store", "sku", "week"]).any()
    assert out["week"].min() == sales["week"].max() + pd.Timedelta(weeks=1)
    assert (out["week"].dt.day_of_week == 0).all()


def test_quantile_columns_follow_the_requested_levels():
    sales, products, _ = world(n_stores=5)
    out = forecasting.forecast(sales, horizon=2, quantiles=(0.1, 0.5, 0.975), products=products)
    assert [c for c in out.columns if c.startswith("p")] == ["p10", "p50", "p98"]


def test_constant_series_is_forecast_at_its_level():
    sales = pd.concat([series(np.full(60, 3), store=f"S{i}") for i in range(5)])
    out = forecasting.forecast(sales, horizon=4, holidays=NO_HOLIDAYS)
    assert out["mean"].to_numpy() == pytest.approx(3.0, rel=0.03)
    assert (out["p50"] == 3).all()


def test_all_zero_series_forecasts_zero():
    # Zero rows in stock say no more than missing rows: the assortment says the stores carried the SKU.
    sales = pd.concat([series(np.zeros(30), store=f"S{i}") for i in range(3)])
    carried = pd.DataFrame({"store": ["S0", "S1", "S2"], "sku": "A", "start": FIRST_WEEK})
    out = forecasting.forecast(sales, horizon=3, holidays=NO_HOLIDAYS, assortment=carried)
    assert (out["mean"] == 0).all()
    assert (out[["p50", "p80", "p95"]] == 0).all().all()


def test_quantiles_are_integer_non_decreasing_non_negative_and_bracket_the_mean():
    sales, products, stores = world(seed=3, rate=0.2)
    out = forecasting.forecast(sales, products=products, stores=stores)
    q = out[["p50", "p80", "p95"]].to_numpy()
    assert np.issubdtype(q.dtype, np.integer)
    assert (q >= 0).all()
    assert (np.diff(q, axis=1) >= 0).all()
    assert (out["p95"] >= np.floor(out["mean"])).all()


def test_store_forecasts_follow_store_size():
    sales, products, stores = world(n_stores=30, seed=1)
    out = forecasting.forecast(sales, horizon=1, products=products, stores=stores)
    per_store = out.groupby("store")["mean"].sum()
    sold = sales.groupby("store")["units"].sum()
    assert np.corrcoef(per_store, sold.reindex(per_store.index))[0, 1] > 0.95


def test_pure_seasonal_series_repeats_its_holiday_peak():
    # The festival covers the whole peak week, every year (the calendar lists its days).
    days = [pd.date_range(monday, periods=7) for monday in ("2024-06-17", "2025-06-16", "2026-06-15")]
    holidays = pd.DataFrame({"date": days[0].append(days[1:]), "kind": "618"})
    w = weeks(120)
    peak = np.isin(w, pd.to_datetime(["2024-06-17", "2025-06-16"]))
    sales = pd.concat(
        [series(np.where(peak, 40, 10), store=f"S{i}", first=FIRST_WEEK) for i in range(4)], ignore_index=True
    )
    sales = sales[sales["week"] < pd.Timestamp("2026-04-06")]
    out = forecasting.forecast(sales, horizon=13, holidays=holidays)
    per_week = out.groupby("week")["mean"].mean()
    assert per_week.loc[pd.Timestamp("2026-06-15")] == pytest.approx(40, rel=0.15)
    assert per_week.drop(pd.Timestamp("2026-06-15")).median() == pytest.approx(10, rel=0.1)


def test_sku_past_end_of_life_forecasts_zero():
    sales, products, stores = world(n_weeks=80, eol_week=70)
    # Forecast from before end of life: the weeks after eol_date must be zero.
    out = forecasting.forecast(sales, horizon=13, products=products, stores=stores, start=weeks(80)[65])
    a2 = out[out["sku"] == "A2"].groupby("week")["mean"].sum()
    eol = products.loc["A2", "eol_date"]
    assert (a2[a2.index > eol] == 0).all()
    assert (a2[a2.index <= eol] > 0).all()
    assert (out.loc[(out["sku"] == "A2") & (out["week"] > eol), ["p50", "p80", "p95"]] == 0).all().all()


def test_new_sku_without_history_gets_an_analogue_launch_forecast():
    sales, products, stores = world()
    start = sales["week"].max() + pd.Timedelta(weeks=1)
    products.loc["A3"] = ["Acme", "audio", start, pd.NaT, 1799.0]
    assortment = pd.concat(
        [sales[["store", "sku"]].drop_duplicates(), pd.DataFrame({"store": ["S0", "S1"], "sku": "A3"})]
    )
    out = forecasting.forecast(sales, horizon=4, products=products, stores=stores, assortment=assortment)
    new = out[out["sku"] == "A3"]
    assert len(new) == 8
    assert (new["mean"] > 0).all()


def test_new_sku_is_zero_before_its_launch_date():
    sales, products, stores = world()
    start = sales["week"].max() + pd.Timedelta(weeks=1)
    products.loc["A3"] = ["Acme", "audio", start + pd.Timedelta(weeks=2), pd.NaT, 1799.0]
    assortment = pd.DataFrame({"store": ["S0"], "sku": ["A3"]})
    out = forecasting.forecast(sales, horizon=4, products=products, stores=stores, assortment=assortment)
    assert out["mean"].gt(0).tolist() == [False, False, True, True]


def test_start_ignores_later_rows_so_one_frame_serves_many_origins():
    sales, products, stores = world(n_stores=8)
    start = weeks(104)[80]
    cut = forecasting.forecast(sales[sales["week"] < start], horizon=3, products=products, stores=stores)
    full = forecasting.forecast(sales, horizon=3, products=products, stores=stores, start=start)
    pd.testing.assert_frame_equal(cut, full)


def test_stockout_weeks_are_read_as_censored_demand():
    full = pd.concat([series(np.full(40, 2), store=f"S{i}") for i in range(4)], ignore_index=True)
    full["in_stock"] = 1.0
    half = full.copy()
    late = half["week"] >= weeks(40)[30]
    half.loc[late, "units"] = 1
    half.loc[late, "in_stock"] = 0.5
    a = forecasting.forecast(full, horizon=2, holidays=NO_HOLIDAYS)
    b = forecasting.forecast(half, horizon=2, holidays=NO_HOLIDAYS)
    np.testing.assert_allclose(a["mean"], b["mean"], rtol=0.02)


def test_typical_scale_is_the_mean_scale_of_skus_with_evidence():
    from forecasting.lifecycle import typical_scale

    observed = np.array([2.0, 6.0, 0.5, 0.0])
    expected = np.array([4.0, 6.0, 1.0, 0.0])
    # Only the first two have 4 expected units or more: scales 0.5 and 1.0.
    assert typical_scale(observed, expected, 4.0) == pytest.approx(0.75)
    assert typical_scale(observed[2:], expected[2:], 4.0) == 1.0


def test_noisy_holiday_effect_on_two_occurrences_is_shrunk_toward_one():
    from forecasting.calendar import holiday_effects

    days = [pd.date_range(monday, periods=7) for monday in ("2024-06-17", "2025-06-16", "2026-06-15")]
    holidays = pd.DataFrame({"date": days[0].append(days[1:]), "kind": "618"})
    w = weeks(120)
    peak = np.isin(w, pd.to_datetime(["2024-06-17", "2025-06-16"]))
    noise = np.random.default_rng(0).normal(0.0, 0.1, len(w))
    rate = pd.Series(np.where(peak, 4.0, 1.0) * np.exp(noise), index=w)
    factor = holiday_effects(rate, holidays, weeks(13, w[-1] + pd.Timedelta(weeks=1))).loc[pd.Timestamp("2026-06-15")]
    # Two noisy occurrences of x4: kept well above 1, pulled below the raw x4.
    assert 1.5 < factor < 3.6


def test_ets_candidate_follows_a_trend_and_falls_back_to_analogues_for_short_histories():
    """method="ets" (statsmodels damped Holt on the SKU rate): a rising SKU is forecast above
    its last level; a SKU with ten weeks of history is forecast by the life-cycle method."""
    rising = np.round(np.linspace(2, 12, 60)).astype(int)
    long = pd.concat([series(rising, store=f"S{i}", sku="A") for i in range(4)])
    short = pd.concat([series(np.full(10, 2), store=f"S{i}", sku="B", first=FIRST_WEEK + pd.Timedelta(weeks=50))
                       for i in range(4)])
    sales = pd.concat([long, short])
    ets = forecasting.forecast(sales, horizon=4, holidays=NO_HOLIDAYS, method="ets")
    life = forecasting.forecast(sales, horizon=4, holidays=NO_HOLIDAYS, method="lifecycle")
    a = ets[ets["sku"] == "A"].groupby("week")["mean"].sum().to_numpy()
    assert a[0] > 4 * 11.5 and (np.diff(a) > 0).all()
    b_ets = ets[ets["sku"] == "B"]["mean"].to_numpy()
    assert b_ets == pytest.approx(life[life["sku"] == "B"]["mean"].to_numpy())
