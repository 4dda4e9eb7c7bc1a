"""Time a replenishment plan for the whole demo network (target: under 60 s).

    .venv/bin/python scripts/bench_replenish.py --data DIR

DIR from `flask --app wsgi demo export DIR`. The forecast is made first and timed apart; the
plan is order lines (policy), same-city transfers and purchase proposals, on a start
position of one unit per stocked store x SKU (balances are not in the export). The plan is
timed in the service-level mode (PolicyConfig()) and in the cost-aware mode the simulation
runs (PolicyConfig(hold_per_kcny=--hold)).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import forecasting  # noqa: E402
from forecasting.replenishment import (  # noqa: E402
    PolicyConfig,
    apply_transfers,
    plan_orders,
    propose_transfers,
    purchase_proposals,
)
from forecasting.replenishment.cover import cover_demand  # noqa: E402

TARGET = 60.0

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data", type=Path, required=True)
parser.add_argument("--hold", type=float, default=0.009, help="hold_per_kcny of the cost-aware mode")
args = parser.parse_args()
sales = pd.read_parquet(args.data / "sales.parquet")
products = pd.read_parquet(args.data / "products.parquet")
stores = pd.read_parquet(args.data / "stores.parquet")
# An export lists only the weeks that say something, and the weeks each store carried each SKU apart.
carried = args.data / "assortment.parquet"
assortment = pd.read_parquet(carried) if carried.exists() else None
began = time.perf_counter()
fc = forecasting.forecast(sales, horizon=13, products=products.set_index("sku"), stores=stores.set_index("store"),
                          assortment=assortment)
forecast_s = time.perf_counter() - began
as_of = fc["week"].min()
recent = sales[sales["week"] >= as_of - pd.Timedelta(weeks=4)]
position = recent[["store", "sku"]].drop_duplicates().assign(on_hand=1)
print(f"forecast {forecast_s:.1f} s ({fc[['store', 'sku']].drop_duplicates().shape[0]} series)")
for name, config in (("service level 0.95", PolicyConfig()), (f"cost-aware hold {args.hold:g}",
                                                               PolicyConfig(hold_per_kcny=args.hold))):
    began = time.perf_counter()
    lines = plan_orders(fc, position, as_of=as_of, products=products, stores=stores, config=config)
    horizon = cover_demand(fc, as_of=as_of, cover_weeks=13)
    transfers = propose_transfers(lines, horizon, stores=stores, products=products)
    lines = apply_transfers(lines, transfers)
    dc_position = pd.DataFrame({"dc": [], "sku": [], "on_hand": []})
    buys = purchase_proposals(fc, dc_position, as_of=as_of, products=products,
                              store_dc=stores.set_index("store")["dc"])
    plan_s = time.perf_counter() - began
    print(f"plan ({name}) {plan_s:.1f} s (target < {TARGET:.0f} s): {len(lines)} store x SKU lines, "
          f"{int((lines['order_units'] > 0).sum())} ordered, {int(lines['order_units'].sum())} units, "
          f"{int(transfers['units'].sum()) if len(transfers) else 0} units in transfers, "
          f"{int((buys['units'] > 0).sum())} purchase lines")
