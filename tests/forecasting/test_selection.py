"""Model choice by the data (`method="auto"`, forecasting/selection.py): the rule, no peeking
past the origin, and the choice recorded in the output's attrs."""

import numpy as np
import pandas as pd

import forecasting
from forecasting import methods, selection
from forecasting.history import History
from tests.forecasting.synthetic import weeks

MODELS = {name: methods.get(name, methods.MODEL) for name in selection.MODELS}

NO_HOLIDAYS = pd.DataFrame({"date": pd.to_datetime([]), "kind": []})


def one_store_sales(n_series=60, n_weeks=52, seed=0) -> pd.DataFrame:
    """One store's intermittent series with flat rates (no launches, no attributes)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.8, 1.0, n_series)
    units = rng.poisson(rate[:, None] * np.ones((1, n_weeks)))
    return pd.DataFrame({
        "store": "all",
        "sku": np.repeat([f"p{i}" for i in range(n_series)], n_weeks),
        "week": np.tile(weeks(n_weeks), n_series),
        "units": units.ravel(),
        "in_stock": 1.0,
    })


def test_pick_keeps_the_default_unless_a_candidate_wins_by_the_margin_at_most_origins():
    def scores(default, other):  # one group "g", per origin: candidate -> error sum
        return {c: {"g": other if c == "tsb" else default} for c in selection.CANDIDATES}

    den = [{"g": 1.0}, {"g": 1.0}, {"g": 1.0}]
    clear = [scores(1.0, 0.8), scores(1.0, 0.8), scores(1.0, 0.8)]
    assert selection._pick(clear, den, ["g"])[0] == "tsb"
    small = [scores(1.0, 0.99)] * 3  # better, but by less than MARGIN
    assert selection._pick(small, den, ["g"])[0] == selection.DEFAULT
    once = [scores(1.0, 0.2), scores(1.0, 1.1), scores(1.0, 1.1)]  # better pooled, at one origin in three
    assert selection._pick(once, den, ["g"])[0] == selection.DEFAULT


def test_auto_records_the_choice_in_the_output_attrs():
    sales = one_store_sales()
    start = weeks(52)[-1] + pd.Timedelta(weeks=1)
    out = forecasting.forecast(sales, 8, start=start, holidays=NO_HOLIDAYS, method="auto")
    choice = out.attrs["choice"]
    assert choice["by"] == "demand class" and choice["default"] == selection.DEFAULT
    assert choice["origins"] == [str(weeks(52)[52 - 8 * k].date()) for k in range(1, 5)]
    assert choice["pooled"] in selection.CANDIDATES
    assert sum(g["series"] for g in choice["groups"].values()) == 60
    assert all(g["method"] in selection.CANDIDATES for g in choice["groups"].values())
    fixed = forecasting.forecast(sales, 8, start=start, holidays=NO_HOLIDAYS, method="lifecycle")
    assert fixed.attrs["choice"] == {"method": "lifecycle"}
    assert selection.summary(choice).startswith(f"pooled {choice['pooled']}")


def test_the_choice_uses_only_weeks_before_the_origin():
    """Weeks at and after `start` changed beyond recognition: the same choice, the same forecast."""
    sales = one_store_sales(n_weeks=70)
    start = weeks(70)[52]
    after = sales["week"] >= start
    changed = sales.copy()
    changed.loc[after, "units"] = changed.loc[after, "units"] * 50 + 7
    a = forecasting.forecast(sales, 8, start=start, holidays=NO_HOLIDAYS, method="auto")
    b = forecasting.forecast(changed, 8, start=start, holidays=NO_HOLIDAYS, method="auto")
    assert a.attrs["choice"] == b.attrs["choice"]
    pd.testing.assert_frame_equal(a, b)
    # Every inner check origin, with its horizon, ends before the forecast origin.
    last = max(pd.Timestamp(o) for o in a.attrs["choice"]["origins"])
    assert last + pd.Timedelta(weeks=8) <= start


def test_inner_scores_read_only_the_history_given():
    rng = np.random.default_rng(2)
    units = rng.poisson(1.0, (30, 60)).astype(float)
    full = History.from_frame(pd.DataFrame(units, columns=weeks(60)))
    cut = History.from_frame(pd.DataFrame(units[:, :40], columns=weeks(40)))
    groups = np.zeros(30, dtype=object)
    from_full = selection.inner_scores(full.until(40), 6, NO_HOLIDAYS, groups, MODELS)
    from_cut = selection.inner_scores(cut, 6, NO_HOLIDAYS, groups, MODELS)
    assert from_full == from_cut
    assert all(end + 6 <= 40 for end in from_cut[2])


def test_too_short_a_history_keeps_the_default():
    units = np.random.default_rng(1).poisson(1.0, (25, 10)).astype(float)
    history = History.from_frame(pd.DataFrame(units, columns=weeks(10)))
    chosen, record = selection.choose(history, 6, NO_HOLIDAYS, MODELS)
    assert set(chosen) == {selection.DEFAULT} and record["origins"] == []
