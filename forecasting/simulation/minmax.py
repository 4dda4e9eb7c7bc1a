"""The min/max baseline: its rule, its grid of settings, and its tuning to our fill rate."""

from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm

from forecasting.simulation.ledger import Ledger, measure, sell_week
from forecasting.simulation.world import LEAD, TRAILING, World

# Min/max settings (min weeks, max weeks, (min floor, max floor)) in weeks of trailing sales and units:
# floors (0, 1) is "reorder the unit when the shelf is empty", (1, 2) keeps a spare.
MINMAX_GRID = ([(mn, mx, (0, 1)) for mn in (0.0, 1.0) for mx in (4.0, 8.0, 13.0, 16.0, 20.0, 26.0, 32.0, 39.0, 52.0)]
               + [(0.0, mx, (1, 2)) for mx in (8.0, 26.0, 52.0)] + [(0.0, mx, (0, 2)) for mx in (8.0, 26.0)])


def run_minmax(world: World, *, min_weeks: float, max_weeks: float, floor: tuple[int, int]) -> Ledger:
    """Reorder point / order-up-to in weeks of trailing average sales, at least `floor` units each."""
    n, weeks = world.demand.shape
    ledger = Ledger(n, weeks)
    sold_hist = np.concatenate([world.history, np.zeros((n, weeks), np.int64)], axis=1)
    on_hand = np.zeros(n, np.int64)
    pipeline = np.zeros((n, weeks + LEAD + 1), np.int64)
    for t in range(weeks):
        ledger.cols["opening"][:, t] = on_hand
        on_hand += pipeline[:, t]
        ledger.cols["received"][:, t] = pipeline[:, t]
        avg = sold_hist[:, t:t + TRAILING].mean(1)
        low = np.maximum(floor[0], np.ceil(avg * min_weeks - 1e-9)).astype(np.int64)
        high = np.maximum(np.maximum(floor[1], low), np.ceil(avg * max_weeks - 1e-9)).astype(np.int64)
        position = on_hand + pipeline[:, t + 1:].sum(1)
        due = world.orderable[:, t] & (position <= low) & (position < high)
        order = np.where(due, high - position, 0)
        order = -(-order // world.pack) * world.pack
        if t == 0:
            on_hand += np.where(world.orderable[:, 0], high, 0)
        else:
            pipeline[:, t + LEAD] += order
        sell_week(world, ledger, on_hand, t)
        sold_hist[:, TRAILING + t] = ledger.cols["sold"][:, t]
    return ledger


def minmax_grid(world: World, progress: bool = False) -> list[dict]:
    tried = []
    for min_w, max_w, floor in tqdm(MINMAX_GRID, desc="min/max grid", disable=not progress, file=sys.stderr):
        result = measure(world, run_minmax(world, min_weeks=min_w, max_weeks=max_w, floor=floor))
        tried.append({**result, "min_weeks": min_w, "max_weeks": max_w, "floor": f"{floor[0]}/{floor[1]}"})
    return tried


def tune_minmax(grid: list[dict], target_fill: float) -> dict:
    """The min/max setting with the highest turnover among those reaching `target_fill`
    (None if no setting reaches it)."""
    reaching = [r for r in grid if r["fill_rate"] >= target_fill]
    return max(reaching, key=lambda r: r["turnover"]) if reaching else None


def frontier_turnover(grid: list[dict], fill: float) -> float | None:
    """Min/max turnover at exactly `fill` on its frontier: the upper envelope of (fill, best turnover
    at that fill or more), interpolated linearly between the two frontier points around `fill`."""
    points = sorted({(r["fill_rate"], r["turnover"]) for r in grid})
    best = []  # for each fill level: the best turnover at that fill rate or above
    for f, _ in points:
        best.append((f, max(tu for g, tu in points if g >= f)))
    below = [p for p in best if p[0] <= fill]
    above = [p for p in best if p[0] >= fill]
    if not above:
        return None
    hi = min(above)
    if not below:
        return hi[1]
    lo = max(below)
    if hi[0] == lo[0]:
        return hi[1]
    return lo[1] + (hi[1] - lo[1]) * (fill - lo[0]) / (hi[0] - lo[0])


def compare(sweep: list[dict], grid: list[dict]) -> list[dict]:
    """Each of our points against min/max tuned to (at least) its fill rate and against the
    min/max frontier interpolated at its fill rate."""
    rows = []
    for r in sweep:
        tuned = tune_minmax(grid, r["fill_rate"])
        front = frontier_turnover(grid, r["fill_rate"])
        rows.append({"hold_per_kcny": r["hold_per_kcny"], "fill_rate": r["fill_rate"], "turnover": r["turnover"],
                     "minmax_fill_rate": tuned["fill_rate"] if tuned else None,
                     "minmax_turnover": tuned["turnover"] if tuned else None,
                     "ratio_tuned": round(r["turnover"] / tuned["turnover"], 3) if tuned else None,
                     "minmax_frontier_turnover": round(front, 4) if front else None,
                     "ratio_frontier": round(r["turnover"] / front, 3) if front else None})
    return rows

