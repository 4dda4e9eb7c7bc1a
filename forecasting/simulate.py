"""Replay the last year of the demo world week by week: our policy against a tuned min/max.

    python -m forecasting.simulate --data DIR [--json] [--out DIR] [--hold ...] [--fill 0.95]

DIR holds sales.parquet, products.parquet and stores.parquet (`flask --app wsgi demo export DIR`).
Each week: receive what arrives, review (order from the DC, which has stock; lead time one
week; our policy may also propose same-city transfers), then sell what demand allows. Demand is
the recorded weekly units, uncensored where the SKU was out of stock part of the week: the
missing share of the week gets Poisson demand at the store x SKU's in-stock rate of the year
(seeded). Both policies start at their own target stock, see the same demand, assortment
(the store x SKU pairs stocked in the year) and end-of-life dates, and are measured by the
same KPI functions (forecasting.kpis). Inventory is what the stores hold at the end of each
week, at cost; the DC is an unlimited source for both policies and its stock is not counted
(no policy returns stock to it), nor are units on the one-week road (orders and transfers).

Our policy is the cost-aware rule of forecasting.replenishment.policy (hold a unit when its
chance to sell within the shelf horizon is at least hold_per_kcny x unit cost / 1000), run
for a sweep of hold_per_kcny (the Lagrange multiplier of the fill rate) to trace its fill
rate / turnover curve. It forecasts with `forecasting.forecast` every `--every` weeks (default
6) from the sales before that week, rolls the forecast forward in between, and reuses these
forecasts for every point of the sweep. The min/max baseline (reorder point and order-up-to
level in weeks of the trailing 26-week average sales, each with a floor of units, rounded up
to packs) is run on a grid; for each of our points it is tuned to the highest turnover among
its settings that reach our fill rate, and its curve is interpolated at our fill rate too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# The simulation lives in forecasting.simulation; its names are re-exported here for callers and tests.
from forecasting.simulation.covers import EVERY, HISTORY_WEEKS, Covers, rolling_covers
from forecasting.simulation.ledger import COST_BANDS, Ledger, measure
from forecasting.simulation.minmax import (
    MINMAX_GRID,
    compare,
    frontier_turnover,
    minmax_grid,
    run_minmax,
    tune_minmax,
)
from forecasting.simulation.ours import DEFAULT_HOLD, run_ours
from forecasting.simulation.report import REPORT_FILL, TARGET_FILL, TARGET_RATIO, plot, simulate, table
from forecasting.simulation.world import LEAD, REVIEW, SHELF_WEEKS, TRAILING, WEEKS, World, build_world, load

__all__ = [
    "COST_BANDS", "DEFAULT_HOLD", "EVERY", "HISTORY_WEEKS", "LEAD", "MINMAX_GRID", "REPORT_FILL", "REVIEW",
    "SHELF_WEEKS", "TARGET_FILL", "TARGET_RATIO", "TRAILING", "WEEKS", "Covers", "Ledger", "World", "build_world",
    "compare", "frontier_turnover", "load", "main", "measure", "minmax_grid", "plot", "rolling_covers", "run_minmax",
    "run_ours", "simulate", "table", "tune_minmax",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Replay the last year: our replenishment policy against min/max.")
    parser.add_argument("--data", type=Path, required=True, help="directory of `flask --app wsgi demo export`")
    parser.add_argument("--json", action="store_true", help='print one JSON object {"ours": ..., "minmax": ...}')
    parser.add_argument("--out", type=Path, default=None, help="write CSVs, JSON and the trade-off plot here")
    parser.add_argument("--hold", type=float, nargs="+", default=list(DEFAULT_HOLD),
                        help="hold_per_kcny values to sweep (chance to sell per 1,000 CNY of unit cost)")
    parser.add_argument("--fill", type=float, default=REPORT_FILL,
                        help="report our sweep point with the lowest fill rate at or above this one")
    parser.add_argument("--every", type=int, default=EVERY, help="weeks between two forecasts (rolled in between)")
    parser.add_argument("--transfer-cost", type=float, default=40.0, help="cost of moving a unit within a city")
    parser.add_argument("--no-transfers", action="store_true", help="no same-city transfers at the reported point")
    parser.add_argument("--workers", type=int, default=2, help="processes that make the forecasts (1: no fork)")
    args = parser.parse_args(argv)
    if any(not h > 0 for h in args.hold):
        parser.error("hold values are > 0")
    if not 0 < args.fill < 1:
        parser.error("--fill lies strictly between 0 and 1")
    if args.every < 1:
        parser.error("--every is at least 1 week")
    began = time.perf_counter()
    result = simulate(args.data, holds=args.hold, every=args.every,
                      transfer_cost=None if args.no_transfers else args.transfer_cost, fill=args.fill,
                      out=args.out, progress=not args.json, workers=args.workers)
    if args.json:
        print(json.dumps({"ours": result["ours"], "minmax": result["minmax"]}))
    else:
        print(table(result))
    print(f"elapsed {time.perf_counter() - began:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
