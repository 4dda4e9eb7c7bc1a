"""Scale prior for new SKUs, from what comparable recent launches sold.

A SKU with no history of its own cannot have its scale estimated; `forecasting.lifecycle`
shrinks its scale toward a prior. The typical SKU's scale (`lifecycle.typical_scale`) is a
poor prior for a launch: launches are not ranged and not sold like the average product in
the catalogue. This module reads the prior from the SKUs launched in the last `window` weeks
before the origin, each one's scale being its sales over what the analogue curve expected
at its own ages (so a launch seen for 3 weeks is compared with the curve's first 3 weeks),
pooled from the most general analogue group to the most specific and shrunk toward the
parent group's prior when the group has few launches. Only the history is read.
"""

from __future__ import annotations

import numpy as np


def launch_prior(observed: np.ndarray, expected: np.ndarray, launch: np.ndarray, n_weeks: int,
                 groups: tuple[np.ndarray, ...], fallback: float, *, window: int = 52,
                 min_expected: float = 2.0, strength: float = 4.0) -> np.ndarray:
    """Per SKU: shrunk mean scale of the recent launches of its analogue group.

    `observed` and `expected` are each SKU's units and the curve's expectation over its
    history; the recent launches are the SKUs launched in [n_weeks - window, n_weeks) with
    at least `min_expected` units expected. From the most general group (all SKUs; its
    parent is `fallback`) to the most specific, a group's prior is
    (sum of its launches' scales + strength x parent prior) / (launches + strength).
    """
    n_sku = len(observed)
    recent = (launch >= n_weeks - window) & (launch < n_weeks) & (expected >= min_expected)
    ratio = np.where(recent, observed / np.maximum(expected, 1e-12), 0.0)
    prior = np.full(n_sku, float(fallback))
    for codes in reversed(groups):
        if len(codes) == 0:
            continue
        n_groups = int(codes.max()) + 1
        count = np.bincount(codes, weights=recent.astype(float), minlength=n_groups)
        total = np.bincount(codes, weights=ratio, minlength=n_groups)
        parent = np.zeros(n_groups)
        parent_n = np.bincount(codes, minlength=n_groups)
        np.add.at(parent, codes, prior)
        parent = parent / np.maximum(parent_n, 1)  # parent groups nest, so this is the parent's prior
        prior = ((total + strength * parent) / (count + strength))[codes]
    return prior
