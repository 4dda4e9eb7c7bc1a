"""Wide CSVs (one row per series, one column per period) as input, and `backtest --wide`."""

import json

import numpy as np
import pandas as pd
import pytest

from forecasting import backtest, wide


def write_wide(path, units: np.ndarray, labels=None) -> None:
    labels = labels or [f"P{j}" for j in range(units.shape[1])]
    frame = pd.DataFrame(units, index=pd.Index([f"part{i}" for i in range(len(units))], name="Part"),
                         columns=labels)
    frame.to_csv(path)


def test_read_wide_reads_periods_as_consecutive_weeks_of_one_store(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text("Part,Jan-98,Feb-98,Mar-98,Apr-98\nA,0,2,0,1\nB,1,,,\nC,0,0,0,0\n")
    sales, dropped = wide.read_wide(path)
    assert list(dropped) == ["B"]  # an empty cell is a missing period, not a zero
    assert set(sales["store"]) == {wide.WIDE_STORE} and sorted(set(sales["sku"])) == ["A", "C"]
    weeks = sorted(set(sales["week"]))
    assert weeks[0] == pd.Timestamp("1997-12-29")  # the Monday of the week holding 1 Jan 1998
    assert all(w.day_of_week == 0 for w in weeks) and np.all(np.diff(weeks) == pd.Timedelta(weeks=1))
    a = sales[sales["sku"] == "A"].sort_values("week")
    assert a["units"].tolist() == [0, 2, 0, 1] and (a["in_stock"] == 1).all()  # zeros are explicit rows
    assert len(sales) == 8


def test_read_wide_refuses_text_and_fractions(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Part,a,b\nA,0,x\n")
    with pytest.raises(ValueError, match="not numbers"):
        wide.read_wide(path)
    path.write_text("Part,a,b\nA,0,1.5\n")
    with pytest.raises(ValueError, match="whole numbers"):
        wide.read_wide(path)


def test_read_wide_starts_at_2000_when_labels_are_not_dates(tmp_path):
    path = tmp_path / "plain.csv"
    write_wide(path, np.array([[1, 0, 2]]))
    sales, _ = wide.read_wide(path)
    assert sales["week"].min() == wide.DEFAULT_START


def test_backtest_wide_scores_ours_and_the_baselines(tmp_path, capsys):
    rng = np.random.default_rng(5)
    rate = rng.gamma(0.6, 0.8, 40)[:, None] * np.linspace(1.2, 0.8, 36)[None, :]
    path = tmp_path / "parts.csv"
    write_wide(path, rng.poisson(rate))
    out = tmp_path / "out"
    assert backtest.main(["--wide", str(path), "--horizon", "6", "--out", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["level"] for r in rows} == {"store_sku", "total"}
    assert {"ours", "zero", "naive", "moving_average", "croston_sba", "tsb"} <= {r["method"] for r in rows}
    table = pd.read_csv(out / "backtest.csv")
    ours = table[(table["level"] == "store_sku") & (table["method"] == "ours")].iloc[0]
    assert np.isfinite(ours[["wmsse", "wspl", "bias"]].astype(float)).all()
    assert (out / "backtest.png").stat().st_size > 0


def test_backtest_wide_prints_the_model_choice_of_each_origin(tmp_path, capsys):
    rng = np.random.default_rng(6)
    path = tmp_path / "parts.csv"
    write_wide(path, rng.poisson(rng.gamma(0.8, 1.0, 40)[:, None] * np.ones((1, 40))))
    args = ["--wide", str(path), "--horizon", "6", "--out", str(tmp_path / "out"), "--no-baselines"]
    assert backtest.main([*args, "--method", "auto"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("model choice at ")]
    assert len(lines) == 2 and all("pooled " in x and "(" in x for x in lines)
    assert backtest.main(args) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("model choice at ")]
    assert len(lines) == 2 and all(x.endswith(": lifecycle") for x in lines)
