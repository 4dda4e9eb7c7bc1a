"""Holiday calendar as weekly regressors, and the multiplicative holiday effect on demand.

Chinese New Year moves every year, so week-of-year seasonality cannot carry it: each holiday
kind (cny, 618, double11, national_day, back_to_school, ...) becomes a regressor for the week
before, the week of and the week after the holiday, and the effects are estimated once, on
the dense network-wide series, where there is enough signal to see them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_HOLIDAYS = Path(__file__).resolve().parents[1] / "data" / "holidays.csv"
OFFSETS = (-1, 0, 1)  # weeks relative to the week that holds the holiday


def load_holidays(path: str | Path | None = None) -> pd.DataFrame:
    """Read date,kind rows; an absent file means no holiday effects (empty frame)."""
    path = Path(path) if path is not None else DEFAULT_HOLIDAYS
    if not path.exists():
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "kind": pd.Series(dtype=str)})
    frame = pd.read_csv(path)
    if not {"date", "kind"} <= set(frame.columns):
        raise ValueError(f"{path} needs columns date and kind")
    return pd.DataFrame({"date": pd.to_datetime(frame["date"]), "kind": frame["kind"].astype(str)})


def holiday_features(weeks: pd.DatetimeIndex, holidays: pd.DataFrame) -> pd.DataFrame:
    """0/1 regressors, one per (kind, offset) seen in `weeks`, indexed by week."""
    if holidays is None or holidays.empty:
        return pd.DataFrame(index=weeks)
    monday = holidays["date"] - pd.to_timedelta(holidays["date"].dt.day_of_week, unit="D")
    marks = pd.DataFrame({"week": monday.dt.normalize(), "kind": holidays["kind"]}).drop_duplicates()
    columns = {}
    for kind, rows in marks.groupby("kind"):
        for offset in OFFSETS:
            shifted = set(rows["week"] + pd.Timedelta(weeks=offset))
            columns[f"{kind}{offset:+d}"] = np.fromiter((w in shifted for w in weeks), float, len(weeks))
    features = pd.DataFrame(columns, index=weeks)
    return features.loc[:, features.sum() > 0]


def holiday_effects(rate: pd.Series, holidays: pd.DataFrame, future: pd.DatetimeIndex) -> pd.Series:
    """Multiplicative holiday factor for every week of `rate`'s index and of `future`.

    `rate` is the network-wide demand per unit of store size, a dense weekly series. Its log,
    less a running median (the life-cycle trend, robust to the peaks themselves), is regressed
    on the holiday indicators by statsmodels OLS; the factor of a week is exp(fitted part).
    Without a calendar or with too little history every factor is 1.
    """
    weeks = rate.index.append(future)
    ones = pd.Series(1.0, index=weeks)
    features = holiday_features(weeks, holidays)
    seen = features.loc[rate.index]
    features = features.loc[:, seen.sum() > 0]
    if features.shape[1] == 0 or len(rate) < 26 or (rate <= 0).mean() > 0.2:
        return ones
    import statsmodels.api as sm

    y = np.log(rate.clip(lower=rate[rate > 0].min() / 2))
    detrended = y - y.rolling(9, center=True, min_periods=1).median()
    fit = sm.OLS(detrended.to_numpy(), seen[features.columns].to_numpy()).fit()
    # A factor rests on two or three occurrences: keep it within a plausible band.
    beta = np.clip(np.nan_to_num(np.asarray(fit.params)), np.log(0.3), np.log(6.0))
    return pd.Series(np.exp(features.to_numpy() @ beta), index=weeks)
