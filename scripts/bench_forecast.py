"""Whole-network forecast benchmark: `python scripts/bench_forecast.py --data DIR`.

Forecasts every store x SKU series of the exported demo world (13 weeks ahead, from the
week after the last week carried) and prints wall time, peak memory and series count, each
next to its target. The input is the export as it is: the sales rows that say something and
the assortment's carried weeks (start, end), as the application passes them.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasting import forecast  # noqa: E402
from forecasting.backtest import read_table  # noqa: E402
from forecasting.validation import check_products, check_stores  # noqa: E402

TARGET_SECONDS = 60.0
AIM_SECONDS = 15.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="directory with sales, products, stores")
    parser.add_argument("--horizon", type=int, default=13)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = parser.parse_args(argv)
    data = Path(args.data)
    sales = read_table(data, "sales")
    products, stores = check_products(read_table(data, "products")), check_stores(read_table(data, "stores"))
    try:
        assortment = read_table(data, "assortment")  # the carried weeks: zero rows are not written out
        start = assortment["end"].max() + pd.Timedelta(weeks=1)
    except FileNotFoundError:
        assortment, start = None, None  # an export made before the assortment: a row for every week with stock
    pairs = assortment if assortment is not None else sales[["store", "sku"]].drop_duplicates()
    n_series = len(pairs)
    if args.tracemalloc:
        tracemalloc.start()
    began = time.perf_counter()
    frame = forecast(sales, args.horizon, products=products, stores=stores, assortment=assortment, start=start,
                     progress=True)
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
