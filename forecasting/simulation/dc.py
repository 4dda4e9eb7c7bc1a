"""The distribution centres in the network replay: what leaves a DC for its stores when it is short."""

from __future__ import annotations

import numpy as np
import pandas as pd


def ship_from_dc(requests: np.ndarray, pair: np.ndarray, dc_on: np.ndarray, rng) -> np.ndarray:
    """Ship the stores' requests from their DC's stock (in place), in random order where it is short."""
    shipped = np.zeros_like(requests)
    rows = np.flatnonzero(requests > 0)
    if not len(rows):
        return shipped
    want = np.bincount(pair[rows], weights=requests[rows], minlength=len(dc_on))
    short = want > dc_on
    easy = rows[~short[pair[rows]]]
    shipped[easy] = requests[easy]
    hard = rows[short[pair[rows]]]
    if len(hard):
        order = hard[np.lexsort((rng.random(len(hard)), pair[hard]))]
        req = requests[order]
        cum = pd.Series(req).groupby(pair[order]).cumsum().to_numpy()
        avail = dc_on[pair[order]]
        shipped[order] = np.clip(avail - (cum - req), 0, req)
    np.subtract.at(dc_on, pair[rows], shipped[rows])
    return shipped
