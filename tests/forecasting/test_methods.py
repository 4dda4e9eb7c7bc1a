"""The registry of forecasting methods: one signature, one output frame, for models and baselines."""

import ast
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting import methods
from forecasting.history import History
from tests.forecasting.synthetic import weeks

NO_HOLIDAYS = pd.DataFrame({"date": pd.to_datetime([]), "kind": []})
HORIZON = 6


def plain_history(n_weeks: int = 60) -> History:
    """Four series: steady, intermittent, launched late, never sold."""
    rng = np.random.default_rng(1)
    units = np.vstack([
        rng.poisson(4.0, n_weeks),
        rng.poisson(0.2, n_weeks),
        np.r_[np.zeros(n_weeks - 20), rng.poisson(2.0, 20)],
        np.zeros(n_weeks),
    ])
    frame = pd.DataFrame(units, index=pd.Index(["steady", "sparse", "late", "never"], name="series"),
                         columns=weeks(n_weeks))
    return History.from_frame(frame)


def available():
    return sorted(methods.methods())


def test_the_registry_holds_the_model_candidates_and_the_baselines():
    assert set(methods.methods(methods.MODEL)) == {"lifecycle", "ets", "level", "auto"}
    assert list(methods.methods(methods.BASELINE))[:6] == [
        "zero", "naive", "seasonal_naive", "moving_average", "croston_sba", "tsb"]
    assert {"sf_autoets", "sf_croston_optimized"} <= set(methods.METHODS)


@pytest.mark.parametrize("name", sorted(methods.METHODS))
def test_every_registered_method_has_the_registry_signature(name):
    method = methods.METHODS[name]
    assert method.kind in methods.KINDS
    assert methods.same_signature(method.run), f"{name}: {inspect.signature(method.run)}"
    assert [p.name for p in methods.SIGNATURE.parameters.values()] == ["history", "horizon", "holidays"]
    assert methods.SIGNATURE.parameters["holidays"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # statsmodels on an all-zero series
@pytest.mark.parametrize("name", available())
def test_every_method_returns_the_documented_frame(name):
    history = plain_history()
    out = methods.METHODS[name](history, HORIZON, holidays=NO_HOLIDAYS)
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(history.series)
    expected = pd.date_range(history.weeks[-1] + pd.Timedelta(weeks=1), periods=HORIZON, freq="7D")
    assert pd.DatetimeIndex(out.columns).equals(expected)
    assert (pd.DatetimeIndex(out.columns).day_of_week == 0).all()
    values = out.to_numpy()
    assert values.dtype == np.float64
    assert np.isfinite(values).all() and (values >= 0).all()
    if methods.METHODS[name].kind == methods.BASELINE:
        assert (values[history.series.get_loc("never")] == 0).all()  # units only: nothing to go on
    if name != "zero":
        assert values[history.series.get_loc("steady")].mean() > values[history.series.get_loc("sparse")].mean()


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize("name", available())
def test_every_method_sees_only_the_history_it_is_given(name):
    """A method at an earlier origin (History.until) forecasts the weeks after that origin."""
    history = plain_history()
    out = methods.METHODS[name](history.until(40), 3, holidays=NO_HOLIDAYS)
    assert list(out.columns) == list(history.weeks[40:43])


def test_model_methods_take_the_holiday_calendar_from_the_caller():
    """The same history with and without a calendar: the calendar moves the model forecast
    (a festival repeated every year), never a baseline's."""
    grid = weeks(156)
    units = np.tile(np.full(156, 10.0), (3, 1))
    units[:, [20, 72, 124]] = 30.0
    history = History.from_frame(pd.DataFrame(units[:, :-40], columns=grid[:-40]))
    days = pd.DatetimeIndex(np.concatenate([pd.date_range(grid[i], periods=7) for i in (20, 72, 124)]))
    holidays = pd.DataFrame({"date": days, "kind": "618"})
    with_cal = methods.METHODS["lifecycle"](history, 13, holidays=holidays).to_numpy()
    without = methods.METHODS["lifecycle"](history, 13, holidays=NO_HOLIDAYS).to_numpy()
    peak = 124 - (156 - 40)  # the festival week inside the horizon
    assert with_cal[0, peak] > 1.5 * without[0, peak]
    base = methods.METHODS["moving_average"]
    assert base(history, 13, holidays=holidays).equals(base(history, 13, holidays=NO_HOLIDAYS))


def test_register_refuses_another_signature_and_get_names_the_choices():
    def wrong(history, horizon, holidays=None):  # holidays not keyword-only, and defaulted
        return history

    with pytest.raises(TypeError, match="must take"):
        methods.register("wrong", methods.BASELINE)(wrong)
    assert "wrong" not in methods.METHODS
    with pytest.raises(ValueError, match=r"method must be one of \['auto', 'ets', 'level', 'lifecycle'\]"):
        methods.get("zero", methods.MODEL)


def test_lifecycle_does_not_import_smoothing_or_the_registry():
    """smoothing.ets falls back on lifecycle.lifecycle; the way back would be an import cycle."""
    for module in ("lifecycle", "history"):
        tree = ast.parse(Path(methods.__file__).with_name(f"{module}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {"forecasting.smoothing", "forecasting.methods", "forecasting.lifecycle"} & imported, module
