"""Replay the last year of a world week by week: min/max, our policy and ranging with the endless aisle.

    python -m forecasting.simulate --data DIR [--json] [--out DIR] [--served 0.95] [--conversion ...]
        [--delivery ...] [--serve-values ...] [--hold ...] [--workers 2]
    python -m forecasting.simulate --data DIR --shelf-only [--fill 0.975] ...   (the earlier comparison)

DIR holds sales.parquet, products.parquet and stores.parquet (`flask --app wsgi demo export DIR` or
`python -m retail.demo.generate --export DIR`). The default run is the network replay
(forecasting.simulation.network, .aisle, .sweeps): inventory is the network's (store shelves, demo units,
the DCs with brand lead times and MOQs, goods on the road, at cost), demand served = sold from the shelf +
sold to order + same-city transfers, and three policies run on the same forecasts (made once, reused by
every run): min/max on today's ranges with a DC policy of its own, ours (the cost-aware rule, `--hold`
sweep), and ranging with the endless aisle (forecasting.ranging.decide every 6 weeks, `--serve-values`
sweep), the latter over conversion rates (`--conversion`) and delivery costs (`--delivery`). `--json`
prints {"minmax": ..., "ours": ..., "ranging": ...}, each with demand_served, fill_rate, turnover,
gross_margin and avg_inventory_cost at conversion 0.6 and the lowest point at or above `--served`
(min/max: its best turnover among the settings reaching it).

`--shelf-only` runs the earlier replay (store shelves only, an unlimited DC, ours against a tuned min/max
by fill rate; forecasting.simulation.report) with its options `--fill`, `--every`, `--transfer-cost`,
`--no-transfers`, and prints {"ours": ..., "minmax": ...} with `--json`.
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
from forecasting.simulation.sweeps import (
    CONVERSIONS,
    DELIVERY_COSTS,
    NETWORK_HOLDS,
    REPORT_CONVERSION,
    REPORT_SERVED,
    SERVE_VALUES,
    network_json,
    network_table,
    simulate_network,
)
from forecasting.simulation.world import LEAD, REVIEW, SHELF_WEEKS, TRAILING, WEEKS, World, build_world, load

__all__ = [
    "COST_BANDS", "DEFAULT_HOLD", "EVERY", "HISTORY_WEEKS", "LEAD", "MINMAX_GRID", "REPORT_FILL", "REVIEW",
    "SHELF_WEEKS", "TARGET_FILL", "TARGET_RATIO", "TRAILING", "WEEKS", "Covers", "Ledger", "World", "build_world",
    "compare", "frontier_turnover", "load", "main", "measure", "minmax_grid", "plot", "rolling_covers", "run_minmax",
    "run_ours", "simulate", "simulate_network", "table", "tune_minmax", "network_json", "network_table",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Replay the last year: min/max, our policy and ranging with the "
                                     "endless aisle on the network.")
    parser.add_argument("--data", type=Path, required=True, help="directory of `flask --app wsgi demo export`")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON object {"minmax": ..., "ours": ..., "ranging": ...} '
                             '({"ours": ..., "minmax": ...} with --shelf-only)')
    parser.add_argument("--out", type=Path, default=None, help="write CSVs, JSON and the trade-off plot here")
    parser.add_argument("--hold", type=float, nargs="+", default=list(DEFAULT_HOLD),
                        help="hold_per_kcny values to sweep (chance to sell per 1,000 CNY of unit cost); the network "
                             "replay sweeps 0.003 ... 0.025 unless given")
    parser.add_argument("--fill", type=float, default=REPORT_FILL,
                        help="--shelf-only: report our sweep point with the lowest fill rate at or above this one")
    parser.add_argument("--every", type=int, default=EVERY, help="weeks between two forecasts (rolled in between)")
    parser.add_argument("--transfer-cost", type=float, default=40.0, help="cost of moving a unit within a city")
    parser.add_argument("--no-transfers", action="store_true", help="no same-city transfers at the reported point")
    parser.add_argument("--workers", type=int, default=2, help="processes that make the forecasts and runs (1: no fork)")
    parser.add_argument("--shelf-only", action="store_true",
                        help="the earlier replay: store shelves only, unlimited DC, ours against min/max by fill rate")
    parser.add_argument("--served", type=float, default=REPORT_SERVED,
                        help="network replay: report each policy's lowest point at or above this demand served")
    parser.add_argument("--conversion", type=float, nargs="+", default=list(CONVERSIONS),
                        help="shares of customers who accept waiting, swept for ranging (0.6 is the reported one)")
    parser.add_argument("--delivery", type=float, nargs="+", default=list(DELIVERY_COSTS),
                        help="delivery costs per unit sold to order (CNY), swept for ranging at conversion 0.6")
    parser.add_argument("--serve-values", type=float, nargs="+", default=list(SERVE_VALUES),
                        help="ranging's sweep: CNY a served unit is worth beyond its margin")
    args = parser.parse_args(argv)
    holds = args.hold if args.hold != list(DEFAULT_HOLD) else list(NETWORK_HOLDS)
    if any(not h > 0 for h in args.hold):
        parser.error("hold values are > 0")
    if not 0 < args.fill < 1:
        parser.error("--fill lies strictly between 0 and 1")
    if args.every < 1:
        parser.error("--every is at least 1 week")
    if not 0 < args.served < 1:
        parser.error("--served lies strictly between 0 and 1")
    if any(not 0 <= c <= 1 for c in args.conversion) or any(d < 0 for d in args.delivery):
        parser.error("conversion rates lie between 0 and 1, delivery costs are >= 0")
    if any(v < 0 for v in args.serve_values) or not args.serve_values:
        parser.error("serve values are >= 0")
    began = time.perf_counter()
    if not args.shelf_only:
        conversions = sorted(set(args.conversion) | {REPORT_CONVERSION})
        result = simulate_network(args.data, served=args.served, every=args.every, workers=args.workers,
                                  out=args.out, progress=not args.json, holds=holds,
                                  serve_values=args.serve_values, conversions=conversions,
                                  delivery_costs=sorted(set(args.delivery)), transfer_cost=args.transfer_cost,
                                  transfers=not args.no_transfers)
        print(json.dumps(network_json(result)) if args.json else network_table(result))
        print(f"elapsed {time.perf_counter() - began:.1f} s", file=sys.stderr)
        return
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
