"""Targets, not constants: find the policy parameter that meets a planner's demand-served target by
replaying the network's own last year (forecasting.simulation.network).

    calibrate(data, target=0.96, by=None | "tier" | "brand", policy="ranging" | "ours") -> Calibration

data: a directory with sales.parquet, products.parquet, stores.parquet (and assortment.parquet when the
export has one), or the frames (sales, products, stores) as a tuple or a dict with those keys.

The parameter: for "ours", `hold_per_kcny` of the cost-aware rule (demand served falls as it rises: the
largest value that still serves the target is kept: it holds the least stock); for "ranging", the range
decision's `serve_value` (CNY a served unit is worth beyond its margin; demand served rises with it: the
smallest value that serves the target is kept). The search is a bisection on the logarithm of the
parameter between the bounds of PARAMETERS, over replays that reuse one set of rolling forecasts (made
once: the expensive part). It stops when the kept value serves the target within `tolerance` (default half
a point) or after `max_runs` replays. With `by`, each tier or brand gets its own value, bisected together
(one replay per step serves every group), and the target holds for each group: groups share DCs and
same-city stores and customer orders are random, so a group that misses the target when the kept values are
replayed together is stepped back towards the serving bound by `STEP_BACK` (up to two more replays). For "ranging" the
stock level is the cost-aware rule's at `sweeps.RANGING_HOLD`.

Demand served is the network's: (sold from the shelf + sold to order + same-city transfers) / demand
over the replayed weeks; for "ours" (today's stores, no customer orders) it is the shelf's fill rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.simulation.covers import EVERY
from forecasting.simulation.network import Costs, measure_network, run_network
from forecasting.simulation.sweeps import RANGING_HOLD, prepare

# policy: (parameter, lowest, highest, served rises with it)
PARAMETERS = {"ours": ("hold_per_kcny", 0.0005, 0.08, False), "ranging": ("serve_value", 50.0, 200000.0, True)}
BY = (None, "tier", "brand")
STEP_BACK = 1.25  # factor a group's value moves towards the serving bound when it misses the target jointly


@dataclass(frozen=True)
class Calibration:
    policy: str
    parameter: str  # "hold_per_kcny" or "serve_value"
    target: float
    by: str | None
    value: float | dict  # the chosen parameter: one number, or one per tier / brand
    demand_served: float  # the network's, at the chosen value(s)
    reached: bool  # every group (or the network) serves the target at the chosen value(s)
    weeks: int  # replayed weeks (the network's last year)
    first_week: str
    last_week: str
    runs: int  # replays made
    turnover: float | None = None
    gross_margin: float | None = None
    conversion: float = 0.6
    served_by_group: dict = field(default_factory=dict)
    history: list = field(default_factory=list)  # (value(s), demand served) of every replay

    def to_dict(self) -> dict:
        return asdict(self)


def _frames(data):
    if isinstance(data, str | Path):
        return Path(data)
    if isinstance(data, dict):
        return (data["sales"], data["products"], data["stores"])
    if isinstance(data, tuple | list) and len(data) == 3:
        return tuple(data)
    raise TypeError("data is a directory or the frames (sales, products, stores)")


def calibrate(data, target: float = 0.96, by: str | None = None, policy: str = "ranging", *,
              conversion: float = 0.6, costs: Costs | None = None, tolerance: float = 0.005, max_runs: int = 14,
              every: int = EVERY, workers: int = 2, prepared=None, progress: bool = False) -> Calibration:
    """The parameter of `policy` that serves `target` (see the module docstring). `prepared`: the
    (world, covers, net) of forecasting.simulation.sweeps.prepare, to reuse forecasts already made."""
    if policy not in PARAMETERS:
        raise ValueError(f"policy is one of {sorted(PARAMETERS)}")
    if by not in BY:
        raise ValueError(f"by is one of {BY}")
    if not 0 < target < 1:
        raise ValueError("target lies strictly between 0 and 1")
    if not 0 < tolerance < 0.05 or max_runs < 2:
        raise ValueError("tolerance lies in (0, 0.05) and max_runs is at least 2")
    world, covers, net = prepared if prepared is not None else prepare(_frames(data), every=every, workers=workers,
                                                                      progress=progress)
    costs = costs or Costs(conversion=conversion)
    name, low, high, rising = PARAMETERS[policy]
    if by is None:
        codes, labels = np.zeros(len(world.store), np.int64), np.array(["network"], dtype=object)
    else:
        key = net.tier if by == "tier" else net.brand
        codes, labels = pd.factorize(pd.Series(key))
        labels = np.asarray(labels, dtype=object)
    k = len(labels)
    demand = np.bincount(codes, weights=world.demand.sum(1), minlength=k)
    history = []

    def replay(values: np.ndarray):
        per_cell = values[codes]
        kw = {"hold": per_cell if by else float(values[0])} if policy == "ours" else \
            {"hold": RANGING_HOLD, "serve_value": per_cell if by else float(values[0])}
        books = run_network(world, covers, net, policy=policy, costs=costs, **kw)
        got = books.shelf + books.to_order + books.same_city
        served = np.bincount(codes, weights=got, minlength=k) / np.maximum(demand, 1)
        served = np.where(demand > 0, served, 1.0)
        m = measure_network(world, net, books)
        history.append({"value": _label(values, labels, by), "demand_served": m["demand_served"],
                        "by_group": dict(zip(map(str, labels), np.round(served, 4).tolist(), strict=True)) if by else None})
        return served, m

    # Bracket: `good` serves the target, `bad` does not (log scale).
    good = np.full(k, high if rising else low)
    bad = np.full(k, low if rising else high)
    served_good, m_good = replay(good)
    runs = 1
    feasible = served_good >= target
    served_bad, _ = replay(bad)
    runs += 1
    done_low = served_bad >= target  # the bound that should fail already serves the target: keep it
    good = np.where(done_low, bad, good)
    served_good = np.where(done_low, served_bad, served_good)
    while runs < max_runs:
        active = feasible & ~done_low & (served_good - target > tolerance) & (np.abs(np.log(good / bad)) > 0.01)
        if not active.any():
            break
        mid = np.where(active, np.sqrt(good * bad), good)
        served_mid, m_mid = replay(mid)
        runs += 1
        ok = served_mid >= target
        good = np.where(active & ok, mid, good)
        # A group not bisected this run was replayed at its kept value, next to the others' new ones:
        # its share served is that replay's (groups share DCs and same-city stores, so it moves when
        # the others' values do, and a group that now serves more than the tolerance is bisected again).
        served_good = np.where((active & ok) | ~active, served_mid, served_good)
        bad = np.where(active & ~ok, mid, bad)
        if (ok | ~active).all():
            m_good = m_mid
    if runs >= max_runs or not (served_good >= target).all() or k > 1:
        served_good, m_good = replay(good)  # the reported figures are those of the kept values together
        runs += 1
    # Groups share DCs and same-city stores, and customer orders are random: a group kept on its own side of
    # the target may miss it when replayed together. Step those back towards the serving bound and replay.
    safe = high if rising else low
    while runs < max_runs + 2 and (feasible & (served_good < target)).any():
        miss = feasible & (served_good < target)
        step = np.minimum(good * STEP_BACK, safe) if rising else np.maximum(good / STEP_BACK, safe)
        good = np.where(miss, step, good)
        served_good, m_good = replay(good)
        runs += 1
    return Calibration(
        policy=policy, parameter=name, target=target, by=by, value=_label(good, labels, by),
        demand_served=m_good["demand_served"], reached=bool((served_good >= target).all()),
        weeks=int(world.demand.shape[1]), first_week=str(world.weeks[0].date()), last_week=str(world.weeks[-1].date()),
        runs=runs, turnover=m_good["turnover"], gross_margin=m_good["gross_margin"], conversion=costs.conversion,
        served_by_group=dict(zip(map(str, labels), np.round(served_good, 4).tolist(), strict=True)) if by else {},
        history=history)


def _label(values: np.ndarray, labels, by):
    if by is None:
        return _round(values[0])
    return {str(lab): _round(v) for lab, v in zip(labels, values, strict=True)}


def _round(x: float) -> float:
    x = float(x)
    return round(x, max(0, 3 - int(math.floor(math.log10(abs(x))))) if x else 0.0)


def main(argv: list[str] | None = None) -> None:
    import argparse
    import json
    import sys
    import time

    parser = argparse.ArgumentParser(description="Calibrate a policy parameter to a demand-served target by "
                                     "replaying the network's last year.")
    parser.add_argument("--data", type=Path, required=True, help="directory with sales/products/stores.parquet")
    parser.add_argument("--target", type=float, default=0.96, help="demand served to reach (default 0.96)")
    parser.add_argument("--by", choices=["tier", "brand"], default=None, help="one value per tier or brand")
    parser.add_argument("--policy", choices=sorted(PARAMETERS), default="ranging")
    parser.add_argument("--conversion", type=float, default=0.6, help="share of customers who accept waiting")
    parser.add_argument("--workers", type=int, default=2, help="processes that make the forecasts")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args(argv)
    if not 0 < args.target < 1 or not 0 <= args.conversion <= 1:
        parser.error("--target lies strictly between 0 and 1, --conversion between 0 and 1")
    began = time.perf_counter()
    result = calibrate(args.data, target=args.target, by=args.by, policy=args.policy, conversion=args.conversion,
                       workers=args.workers, progress=not args.json)
    out = result.to_dict()
    if args.json:
        print(json.dumps(out))
    else:
        out.pop("history")
        for key, value in out.items():
            print(f"{key}: {value}")
    print(f"elapsed {time.perf_counter() - began:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
