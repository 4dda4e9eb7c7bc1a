"""The backtest command runs end to end on exported files and writes its table and plot."""

import json

import numpy as np

from forecasting import backtest, metrics
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
    assert {"ours", "naive", "seasonal_naive", "moving_average", "croston_sba", "tsb"} <= {r["method"] for r in rows}
    assert set(rows[0]) >= {"level", "method", "wrmsse", "wspl", "bias", "p50", "p80", "p95"}
    assert (out / "backtest.csv").exists() and (out / "backtest.png").stat().st_size > 0


def test_calibration_reports_shares_below_and_at_or_below():
    actual = np.array([0, 0, 1, 2])
    assert metrics.calibration(actual, np.array([0, 0, 0, 0])) == (0.0, 0.5)


def test_perfect_forecast_scores_zero():
    history = np.array([[0, 1, 0, 2, 1.0]])
    actual = np.array([[1, 0, 1.0]])
    assert metrics.wrmsse(history, actual, actual, np.array([1.0])) == 0.0
    assert metrics.wspl(history, actual, actual[..., None], (0.5,), np.array([1.0])) == 0.0
