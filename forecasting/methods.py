"""One registry of forecasting methods: the model candidates of `forecast` and the baselines.

Every registered method has one signature,

    method(history: History, horizon: int, *, holidays: pd.DataFrame) -> pd.DataFrame

`history` is a `forecasting.history.History` (series x weeks of units, with their exposure and
life dates; `History.from_frame` makes a plain one from a wide frame of units). `holidays` is
the holiday calendar, a (date, kind) frame (empty: no holiday effects), which the caller
passes in: no method reads a file. The result is a wide frame of mean demand per unit of
exposure (units, for a plain history): one row per series of `history` (same index, same
order), one column per future week (the `horizon` Mondays after the last history week),
finite floats >= 0. Methods give means only; the quantiles come from the caller's measure of
the method's error (`forecast` on its past origins, the backtest on the horizon before each
origin), so `quantiles` is not part of the signature.

Two kinds:
- `MODEL`: the SKU rate models `forecast(method=...)` chooses from (`lifecycle`, the default,
  `ets` and `level`); they read exposure, life dates and analogue groups, and remove and
  restore the holiday effects fitted on the history's network rate.
- `BASELINE`: the bar the backtest scores ours against (zero, naive, seasonal naive, moving
  average, Croston SBA, TSB, and statsforecast's AutoETS and CrostonOptimized when the
  optional `statsforecast` is installed); they read the units only.

`METHODS` maps name -> `Method` in registration order (the order of the backtest's table);
`methods(kind)` lists the available ones and `get(name, kind)` looks one up.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from forecasting import baselines, lifecycle, selection, smoothing
from forecasting.history import History, holiday_factor

MODEL = "model"
BASELINE = "baseline"
KINDS = (MODEL, BASELINE)


def _signature(history: History, horizon: int, *, holidays: pd.DataFrame) -> pd.DataFrame:
    """The one signature of a forecasting method (reference for `register` and the tests)."""
    raise NotImplementedError


SIGNATURE = inspect.signature(_signature)


@dataclass(frozen=True)
class Method:
    """A registered forecasting method: call it as `method(history, horizon, holidays=...)`."""

    name: str
    kind: str  # MODEL or BASELINE
    run: Callable[..., pd.DataFrame]  # with SIGNATURE
    requires: str | None = None  # an optional package it needs; unavailable without it

    def __call__(self, history: History, horizon: int, *, holidays: pd.DataFrame) -> pd.DataFrame:
        return self.run(history, horizon, holidays=holidays)

    @property
    def available(self) -> bool:
        return self.requires is None or importlib.util.find_spec(self.requires) is not None


METHODS: dict[str, Method] = {}


def same_signature(fn: Callable) -> bool:
    """Whether `fn` takes exactly (history, horizon, *, holidays), none of them defaulted."""
    got = [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
    want = [(p.name, p.kind, p.default) for p in SIGNATURE.parameters.values()]
    return got == want


def register(name: str, kind: str, *, requires: str | None = None):
    """Decorator: register `fn` under `name`; it must have the registry's signature."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")

    def add(fn: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        if name in METHODS:
            raise ValueError(f"forecasting method {name!r} is registered twice")
        if not same_signature(fn):
            raise TypeError(f"forecasting method {name!r} must take {SIGNATURE}; it takes {inspect.signature(fn)}")
        METHODS[name] = Method(name, kind, fn, requires)
        return fn

    return add


def methods(kind: str | None = None) -> dict[str, Method]:
    """The available methods (of one kind, or all), in registration order."""
    return {n: m for n, m in METHODS.items() if (kind is None or m.kind == kind) and m.available}


def get(name: str, kind: str | None = None) -> Method:
    """The method `name`; ValueError naming the choices when there is none (of that kind)."""
    choices = methods(kind)
    if name not in choices:
        raise ValueError(f"method must be one of {sorted(choices)}; got {name!r}")
    return choices[name]


# Model candidates: SKU rate models, holiday effects fitted on the history's network rate.


@register("lifecycle", MODEL)
def _lifecycle(history: History, horizon: int, *, holidays: pd.DataFrame) -> pd.DataFrame:
    """Own scale x the analogues' life-cycle curve at the SKU's future ages (the default)."""
    rate = lifecycle.lifecycle(history, horizon, holiday_factor(history, holidays, horizon))
    return history.forecast_frame(rate, horizon)


@register("ets", MODEL)
def _ets(history: History, horizon: int, *, holidays: pd.DataFrame) -> pd.DataFrame:
    """statsmodels damped-trend Holt on each SKU's deseasonalised rate; life cycle when short."""
    rate = smoothing.ets(history, horizon, holiday_factor(history, holidays, horizon))
    return history.forecast_frame(rate, horizon)


@register("level", MODEL)
def _level(history: History, horizon: int, *, holidays: pd.DataFrame) -> pd.DataFrame:
    """Exponentially weighted deseasonalised rate, flat."""
    rate = lifecycle.level(history, horizon, holiday_factor(history, holidays, horizon))
    return history.forecast_frame(rate, horizon)


@register("auto", MODEL)
def _auto(history: History, horizon: int, *, holidays: pd.DataFrame) -> pd.DataFrame:
    """Per demand class, the candidate (life cycle, level, TSB, SBA, moving average, blends) that
    won a rolling-origin check on the history given; the choice in attrs["choice"]."""
    return selection.auto(history, horizon, holidays, {name: get(name, MODEL) for name in selection.MODELS})


# Baselines: units only, the calendar is not used.


def _units_only(name: str, fn: Callable[[History, int], pd.DataFrame], requires: str | None = None) -> None:
    def method(history: History, horizon: int, *, holidays: pd.DataFrame) -> pd.DataFrame:
        return fn(history, horizon)

    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = fn.__doc__
    register(name, BASELINE, requires=requires)(method)


for _name, _fn in (
    ("zero", baselines.zero),
    ("naive", baselines.naive),
    ("seasonal_naive", baselines.seasonal_naive),
    ("moving_average", baselines.moving_average),
    ("croston_sba", baselines.croston_sba),
    ("tsb", baselines.tsb),
):
    _units_only(_name, _fn)
_units_only("sf_autoets", baselines.sf_autoets, requires="statsforecast")
_units_only("sf_croston_optimized", baselines.sf_croston_optimized, requires="statsforecast")
del _name, _fn
