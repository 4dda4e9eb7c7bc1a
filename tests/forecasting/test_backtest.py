"""The backtest command runs end to end on exported files and writes its table and plot."""

import json

import numpy as np
import pandas as pd

from forecasting import backtest, metrics
from forecasting.classify import demand_classes
from tests.forecasting.synthetic import demo_like


def test_backtest_writes_table_plot_and_json(tmp_path, capsys):
    sales, products, stores = demo_like(n_stores=60, n_skus=12, seed=1)
    sales.to_parquet(tmp_path / "sales.parquet")
    products.reset_index().to_parquet(tmp_path / "products.parquet")
    stores.reset_index().to_parquet(tmp_path / "stores.parquet")
    out = tmp_path / "out"
    assert backtest.main(["--data", str(tmp_path), "--folds", "1", "--horizon", "4", "--out", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["level"] for r in rows} == {"store_sku", "sku_province", "sku_network", "brand_network"}
    assert {"ours", "zero", "naive", "seasonal_naive", "moving_average", "croston_sba", "tsb"} <= {
        r["method"] for r in rows
    }
    assert set(rows[0]) >= {"level", "method", "wrmsse", "wspl", "bias", "wmsse", "p50", "p80", "p95"}
    assert (out / "backtest.csv").exists() and (out / "backtest.png").stat().st_size > 0
    classes = pd.read_csv(out / "backtest_classes.csv")
    assert set(classes["level"]) <= {"store_sku", "sku_network"} and "ours" in set(classes["method"])
    shares = classes[classes["method"] == "ours"].groupby("level")["weight_share"].sum()
    assert np.allclose(shares, 1.0)


def test_calibration_reports_shares_below_and_at_or_below():
    actual = np.array([0, 0, 1, 2])
    assert metrics.calibration(actual, np.array([0, 0, 0, 0])) == (0.0, 0.5)


def test_perfect_forecast_scores_zero():
    history = np.array([[0, 1, 0, 2, 1.0]])
    actual = np.array([[1, 0, 1.0]])
    assert metrics.wrmsse(history, actual, actual, np.array([1.0])) == 0.0
    assert metrics.wspl(history, actual, actual[..., None], (0.5,), np.array([1.0])) == 0.0


def test_per_series_root_rewards_the_zero_forecast_of_sparse_series_and_wmsse_does_not():
    """Known answer: series selling 0.03 units a week, forecast with their true mean or with zero.

    Most 13-week windows sell nothing; there the RMSSE of a forecast f is f itself (scaled),
    so zero wins WRMSSE although the true mean is the best forecast of demand. Without the
    root per series (WMSSE) the expected score is lowest at the true mean, and it wins.
    """
    rng = np.random.default_rng(3)
    n, rate = 20_000, 0.03
    history = rng.poisson(rate, (n, 104)).astype(float)
    history[:, 0] = 1.0  # every series has sold, so every series has a scale
    actual = rng.poisson(rate, (n, 13)).astype(float)
    weight = np.ones(n)
    truth, zero = np.full((n, 13), rate), np.zeros((n, 13))
    assert metrics.wrmsse(history, actual, zero, weight) < metrics.wrmsse(history, actual, truth, weight)
    assert metrics.wmsse(history, actual, truth, weight) < metrics.wmsse(history, actual, zero, weight)
    # Dense series (5 a week): the root no longer favours zero.
    dense = rng.poisson(5.0, (n, 104)).astype(float)
    dense_actual = rng.poisson(5.0, (n, 13)).astype(float)
    five = np.full((n, 13), 5.0)
    assert metrics.wrmsse(dense, dense_actual, five, weight) < metrics.wrmsse(dense, dense_actual, zero, weight)


def test_backtest_compares_methods_of_ours_without_baselines(tmp_path, capsys):
    sales, products, stores = demo_like(n_stores=40, n_skus=8, seed=2)
    sales.to_parquet(tmp_path / "sales.parquet")
    products.reset_index().to_parquet(tmp_path / "products.parquet")
    stores.reset_index().to_parquet(tmp_path / "stores.parquet")
    scores = {}
    for method in ("lifecycle", "level"):
        args = ["--data", str(tmp_path), "--folds", "1", "--horizon", "4", "--out", str(tmp_path / method),
                "--json", "--no-baselines", "--method", method]
        assert backtest.main(args) == 0
        rows = json.loads(capsys.readouterr().out)
        assert {r["method"] for r in rows} == {"ours"}
        scores[method] = {r["level"]: r["wrmsse"] for r in rows}
    assert scores["lifecycle"] != scores["level"]


def test_demand_classes_follow_syntetos_boylan_cut_offs():
    history = np.array([
        [0, 0, 3, 3, 3, 3, 3, 3],  # sells every week from the first sale, same size: smooth
        [0, 1, 9, 1, 9, 1, 9, 1],  # every week, sizes vary (CV^2 0.64): erratic
        [0, 2, 0, 0, 2, 0, 0, 2],  # a sale every 3 weeks, same size: intermittent
        [1, 0, 0, 9, 0, 0, 1, 0],  # rare and uneven: lumpy
        [0, 0, 0, 0, 0, 0, 0, 0],  # never sold
    ])
    assert list(demand_classes(history)) == ["smooth", "erratic", "intermittent", "lumpy", "no_sales"]
