"""The oracle row and gap_closed of the backtest on a generated world with known truth (issue 11, item 4)."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecasting import backtest, scoring


def test_gap_closed_is_the_share_of_the_gap_between_best_baseline_and_oracle():
    table = pd.DataFrame({
        "level": ["sku_network"] * 4 + ["store_sku"] * 3,
        "method": ["ours", "oracle", "naive", "tsb", "ours", "oracle", "zero"],
        "wrmsse": [0.7, 0.5, 1.0, 0.9, 0.3, 0.4, 0.2],
        "wmsse": [1.0, 1.0, 1.0, 1.0, 0.12, 0.10, 0.15],
        "wspl": [0.3, 0.2, 0.5, 0.4, 0.08, 0.07, 0.09],
    })
    out = scoring.gap_closed(table, ["naive", "tsb", "zero"]).set_index(["level", "method"])
    assert out.loc[("sku_network", "ours"), "gap_closed_wrmsse"] == pytest.approx(0.5)   # (0.9-0.7)/(0.9-0.5)
    assert out.loc[("sku_network", "ours"), "gap_closed_wspl"] == pytest.approx(0.5)     # (0.4-0.3)/(0.4-0.2)
    assert out.loc[("sku_network", "oracle"), "gap_closed_wrmsse"] == pytest.approx(1.0)
    assert out.loc[("sku_network", "tsb"), "gap_closed_wrmsse"] == pytest.approx(0.0)
    assert out.loc[("sku_network", "naive"), "gap_closed_wrmsse"] == pytest.approx(-0.25)
    assert np.isnan(out.loc[("sku_network", "ours"), "gap_closed_wmsse"])  # not a metric of the level
    assert out.loc[("store_sku", "ours"), "gap_closed_wmsse"] == pytest.approx(0.6)      # (0.15-0.12)/(0.15-0.10)
    assert np.isnan(out.loc[("store_sku", "ours"), "gap_closed_wrmsse"])  # WRMSSE is not used at store x SKU


def test_oracle_quantiles_are_poisson_of_the_true_mean():
    mean = np.array([[0.0, 0.3, 2.5], [10.0, 40.0, 0.01]])
    m, qs = scoring.oracle(mean, (0.5, 0.8, 0.95))
    assert (m == mean).all() and qs.shape == (2, 3, 3)
    for j, q in enumerate((0.5, 0.8, 0.95)):
        expected = np.where(mean > 0, stats.poisson.ppf(q, np.maximum(mean, 1e-12)), 0)
        assert (qs[..., j] == expected).all()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from retail.demo.generate import main

    data = tmp_path_factory.mktemp("world")
    main(["--stores", "60", "--seed", "5", "--export", str(data), "--no-progress"])
    return data


def test_backtest_reports_the_oracle_gap_closed_and_launches(generated, tmp_path, capsys):
    out = tmp_path / "out"
    assert backtest.main(["--data", str(generated), "--folds", "2", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert "new launches" in captured.err
    methods_by_level = {}
    for r in rows:
        methods_by_level.setdefault(r["level"], set()).add(r["method"])
    assert all({"ours", "oracle", "zero", "tsb"} <= m for m in methods_by_level.values())
    table = pd.read_csv(out / "backtest.csv")
    for level, metrics_used in scoring.GAP_METRICS.items():
        part = table[table["level"] == level].set_index("method")
        if part.empty:
            continue
        for m in metrics_used:
            col = f"gap_closed_{m}"
            if part[col].notna().any():  # a gap to close: the oracle closes all of it, the best baseline none
                assert part.loc["oracle", col] == pytest.approx(1.0)
                assert part.drop(index=["ours", "oracle"])[col].max() == pytest.approx(0.0)
    # The oracle's mean is the truth summed: its bias is the demand lost to stockouts and late listings.
    oracle = table[table["method"] == "oracle"]
    assert (oracle["bias"] > -0.05).all() and (oracle["bias"] < 0.5).all()
    # Against the true mean the oracle is exact; every method has a score against it.
    assert (oracle["truth_bias"].abs() < 1e-9).all() and (oracle["truth_rmse"] < 1e-9).all()
    assert table["truth_rmse"].notna().all() and (table.loc[table["method"] == "zero", "truth_bias"] == -1).all()
    assert all("truth_rmse" in r for r in rows)
    launches = pd.read_csv(out / "launches.csv")
    assert {"origin", "skus", "actual", "ours", "oracle", "ours_error", "oracle_error"} <= set(launches.columns)


def test_true_mean_of_the_evaluated_pairs_sums_the_truth(generated):
    truth = backtest.load_truth(generated)
    pairs = truth[["store", "sku"]].drop_duplicates().head(50).reset_index(drop=True)
    start = pd.Timestamp("2026-05-25")
    got = backtest._true_mean(truth, pairs, start, 13)
    inside = truth[(truth["week"] >= start) & (truth["week"] < start + pd.Timedelta(weeks=13))]
    expected = inside.merge(pairs, on=["store", "sku"])["mean"].sum()
    assert got.shape == (50, 13) and got.sum() == pytest.approx(expected)
    assert backtest.load_truth(generated.parent) is None
