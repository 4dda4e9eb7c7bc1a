"""Whole-network forecast benchmark: `python scripts/bench_forecast.py --data DIR`.

Forecasts every store x SKU series of the exported demo world (13 weeks ahead, from the
week after the last sales week) and prints wall time, peak memory and series count, each
next to its target.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasting import forecast  # noqa: E402
from forecasting.backtest import load_world  # noqa: E402

TARGET_SECONDS = 60.0
AIM_SECONDS = 15.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="directory with sales, products, stores")
    parser.add_argument("--horizon", type=int, default=13)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = parser.parse_args(argv)
    sales, products, stores = load_world(args.data)
    n_series = len(sales[["store", "sku"]].drop_duplicates())
    if args.tracemalloc:
        tracemalloc.start()
    began = time.perf_counter()
    frame = forecast(sales, args.horizon, products=products, stores=stores, progress=True)
    wall = time.perf_counter() - began
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    verdict = "OK" if wall < TARGET_SECONDS else "TOO SLOW"
    print(f"series (store x sku): {n_series:,}   sales rows: {len(sales):,}   forecast rows: {len(frame):,}")
    print(f"wall time: {wall:.1f} s   (target < {TARGET_SECONDS:.0f} s, aim < {AIM_SECONDS:.0f} s)  {verdict}")
    print(f"peak RSS of the process: {peak_rss:.0f} MiB (includes the loaded data)")
    if traced is not None:
        print(f"peak traced Python allocations during forecast: {traced:.0f} MiB")
    return 0 if wall < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
