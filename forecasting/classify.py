"""Demand classes of Syntetos and Boylan (2005): how often a series sells and how much the size varies.

ADI is the average number of weeks between sales (weeks from the first sale on / weeks with a
sale), CV^2 the squared coefficient of variation of the sizes of the sales. The cut-offs 1.32 and
0.49 are theirs: below both a series is `smooth`, a high ADI makes it `intermittent`, a high CV^2
`erratic`, both `lumpy`; a series without a sale is `no_sales`. The backtest scores every method
by class, so that a method that wins on one kind of series shows it.
"""

from __future__ import annotations

import numpy as np

ADI_CUT, CV2_CUT = 1.32, 0.49
CLASSES = ("smooth", "erratic", "intermittent", "lumpy", "no_sales")


def demand_classes(history: np.ndarray, adi_cut: float = ADI_CUT, cv2_cut: float = CV2_CUT) -> np.ndarray:
    """One class name per row of `history` (series x weeks, oldest first, units >= 0)."""
    history = np.asarray(history, dtype=float)
    sold = history > 0
    weeks = (np.cumsum(sold, axis=1) > 0).sum(axis=1)
    n = sold.sum(axis=1)
    safe = np.maximum(n, 1)
    adi = weeks / safe
    mean = history.sum(axis=1) / safe
    cv2 = (np.where(sold, history**2, 0.0).sum(axis=1) / safe - mean**2) / np.maximum(mean, 1e-12) ** 2
    frequent, steady = adi < adi_cut, cv2 < cv2_cut
    out = np.select([frequent & steady, frequent, steady], ["smooth", "erratic", "intermittent"], "lumpy")
    return np.where(n > 0, out, "no_sales").astype(object)
