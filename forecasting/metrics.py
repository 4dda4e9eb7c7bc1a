"""Scores of the backtest, as in the M5 competition, plus calibration for count data.

All take matrices with one row per series: `history` (weeks before the origin), `actual`
and `mean` (horizon weeks), `quantiles` (series x horizon x levels) and `weight` (revenue
of each series over the weeks before the origin). Series that never sold before the origin
have no scale and are left out of the weighted scores, as in M5.
"""

from __future__ import annotations

import numpy as np


def _active_diffs(history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-step differences from each series' first sale on, and a mask of them."""
    started = np.cumsum(history > 0, axis=1) > 0
    diffs = np.diff(history, axis=1)
    mask = started[:, :-1]
    return diffs, mask


def scales(history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared and mean absolute naive one-step error in-sample, per series."""
    diffs, mask = _active_diffs(history)
    count = mask.sum(axis=1)
    sq = np.where(mask, diffs**2, 0).sum(axis=1) / np.maximum(count, 1)
    ab = np.where(mask, np.abs(diffs), 0).sum(axis=1) / np.maximum(count, 1)
    return np.where(count > 0, sq, 0.0), np.where(count > 0, ab, 0.0)


def _normalised(weight: np.ndarray, scale: np.ndarray) -> np.ndarray:
    w = np.where(scale > 0, weight, 0.0)
    return w / w.sum() if w.sum() > 0 else w


def _msse(history, actual, mean, weight) -> tuple[np.ndarray, np.ndarray]:
    """Normalised weights and the mean squared scaled error of each series."""
    sq, _ = scales(history)
    return _normalised(weight, sq), ((actual - mean) ** 2).mean(axis=1) / np.where(sq > 0, sq, 1.0)


def wrmsse(history, actual, mean, weight) -> float:
    w, msse = _msse(history, actual, mean, weight)
    return float((w * np.sqrt(msse)).sum())


def wmsse(history, actual, mean, weight) -> float:
    """As `wrmsse` without the root per series: the weighted mean squared scaled error.

    The expected squared error of a series is smallest at its mean; the root of it is not
    (for a series that most likely sells nothing in the horizon it is smallest at zero),
    so this is the form of the squared error that ranks forecasts of the mean.
    """
    w, msse = _msse(history, actual, mean, weight)
    return float((w * msse).sum())


def pinball(actual: np.ndarray, quantile: np.ndarray, level: float) -> np.ndarray:
    diff = actual - quantile
    return np.maximum(level * diff, (level - 1) * diff)


def wspl(history, actual, quantiles, levels, weight) -> float:
    """Weighted scaled pinball loss averaged over the quantile levels."""
    _, ab = scales(history)
    w = _normalised(weight, ab)
    loss = np.mean([pinball(actual, quantiles[..., j], q).mean(axis=1) for j, q in enumerate(levels)], axis=0)
    return float((w * loss / np.where(ab > 0, ab, 1.0)).sum())


def bias(actual, mean) -> float:
    """Relative bias of the mean: (forecast - actual) / actual over all cells."""
    total = actual.sum()
    return float((mean.sum() - total) / total) if total > 0 else 0.0


def calibration(actual, quantile) -> tuple[float, float]:
    """Share of actuals below the quantile and at or below it.

    A quantile at level t of a count is calibrated when the first is at most t and the
    second at least t (ties at integer values make a single coverage figure misleading).
    """
    return float((actual < quantile).mean()), float((actual <= quantile).mean())
