"""`History`: the weekly history every forecasting method reads, and the pieces methods share.

A history is a set of series on one week grid: units sold, the exposure behind them (store
size in stock for a SKU's network series; 1 for a plain series), and what is known of each
series' life (launch, end of life, analogue groups). `forecasting.core` builds one per SKU
from the panel; `History.from_frame` makes one from a wide frame of units (the backtest's
series at any level, a test's hand-written numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting import calendar

UNKNOWN_EOL = 10**9  # end-of-life week index of a series without an end of life


@dataclass(frozen=True)
class History:
    """Weekly history of a set of series, aligned on one week grid (oldest week first)."""

    series: pd.Index  # one label per row (SKUs in `forecast`)
    weeks: pd.DatetimeIndex  # history weeks, ending the week before the forecast starts
    units: np.ndarray  # (series, week) units sold
    exposure: np.ndarray  # (series, week) store size in stock (sum of size x in_stock); 1 for a plain series
    launch: np.ndarray  # (series,) week index of launch on the grid (may be >= len(weeks))
    eol: np.ndarray  # (series,) week index after which demand is zero (UNKNOWN_EOL if unknown)
    groups: tuple[np.ndarray, ...]  # analogue groups from specific to general, int codes

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> History:
        """A plain history from a wide frame of units (one row per series, one column per week).

        Exposure is 1 everywhere, a series is launched at its first sale (at the end of the
        grid if it never sold), has no end of life, and all series are one analogue group.
        """
        units = frame.to_numpy(dtype=float)
        n_series, n_weeks = units.shape
        sold = units > 0
        launch = np.where(sold.any(axis=1), np.argmax(sold, axis=1), n_weeks).astype(np.int64)
        weeks = pd.DatetimeIndex(frame.columns)
        exposure = np.broadcast_to(np.float64(1.0), units.shape)  # a read-only view, no memory
        return cls(frame.index, weeks, units, exposure, launch,
                   np.full(n_series, UNKNOWN_EOL, dtype=np.int64), (np.zeros(n_series, dtype=np.int64),))

    def future_weeks(self, horizon: int) -> pd.DatetimeIndex:
        """The `horizon` weeks after the history (from 1970-01-12 for an empty history)."""
        last = pd.Timestamp(self.weeks[-1]) if len(self.weeks) else pd.Timestamp("1970-01-05")
        return pd.date_range(last + pd.Timedelta(weeks=1), periods=horizon, freq="7D")

    def until(self, end: int) -> History:
        """The history as it was before week index `end` (for rolling-origin checks)."""
        return History(self.series, self.weeks[:end], self.units[:, :end], self.exposure[:, :end],
                       self.launch, self.eol, self.groups)

    def forecast_frame(self, values: np.ndarray, horizon: int) -> pd.DataFrame:
        """The frame every method returns: one row per series (same index), one column per future week."""
        return pd.DataFrame(values, index=self.series, columns=self.future_weeks(horizon))


def holiday_factor(history: History, holidays: pd.DataFrame | None, horizon: int) -> np.ndarray:
    """Multiplicative holiday factor of each history week then each of the `horizon` future
    weeks, fitted on the network rate (all units over all exposure) of the history."""
    network = pd.Series(history.units.sum(0) / np.maximum(history.exposure.sum(0), 1e-12), index=history.weeks)
    return calendar.holiday_effects(network, holidays, history.future_weeks(horizon)).to_numpy()


def life_mask(history: History, horizon: int) -> np.ndarray:
    """1 where a future week lies between launch and end of life, else 0."""
    t = len(history.weeks) + np.arange(horizon)
    return ((t[None, :] >= history.launch[:, None]) & (t[None, :] <= history.eol[:, None])).astype(float)
