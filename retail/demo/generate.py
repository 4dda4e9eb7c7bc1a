"""The seeded demo world: brands, products, stores, DCs, users and three years of stock ledger.

    world = generate_world(seed=7, n_stores=3000)
    world = generate_world(seed=7, n_stores=300, shape=PRESETS["fast-fashion"])

The same seed and arguments give identical frames: all randomness comes from one
numpy Generator and nothing reads the clock. `shape` (retail/demo/shape.py) sets life cycles,
promotions, regional brand preference, store openings, holiday strength and stockouts; the
default reproduces the world made before it existed. `--export DIR` also writes
`truth.parquet`: each store x SKU x week's expected demand (store, sku, week, mean), the
mean the simulation draws demand from, before stockouts censor it.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from retail.demo import catalogue, demand, movements, network, trading
from retail.demo.shape import PRESETS, Shape, shape_from

HISTORY_START = date(2023, 11, 27)  # a Monday
HISTORY_END = date(2026, 11, 22)    # a Sunday: 156 full weeks


@dataclass
class World:
    brands: pd.DataFrame
    products: pd.DataFrame
    stores: pd.DataFrame
    dcs: pd.DataFrame
    users: pd.DataFrame
    movements: pd.DataFrame
    shipments: pd.DataFrame


def generate_world(
    seed: int = 7, n_stores: int = 3000, start: date = HISTORY_START, end: date = HISTORY_END,
    progress: bool = False, shape: Shape | None = None,
) -> World:
    """Build the whole demo world; a 3,000-store world takes well under a minute."""
    return build_world(seed=seed, n_stores=n_stores, start=start, end=end, progress=progress, shape=shape)[0]


def build_world(
    *, seed: int, n_stores: int, start: date, end: date, progress: bool, shape: Shape | None = None,
    truth: bool = False,
) -> tuple[World, dict]:
    """The world and a few figures about it (units demanded and sold, lost share).

    With `truth`, stats["truth"] is each store x SKU x week's expected demand (`truth_frame`).
    """
    shape = (shape or Shape()).validate()
    if n_stores < 1:
        raise ValueError(f"n_stores must be at least 1, got {n_stores}; pass e.g. n_stores=3000.")
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start}); the history needs at least one day.")
    days = (end - start).days + 1
    rng = np.random.default_rng(seed)

    brand_ref = catalogue.read_reference("brands")
    brands_full = catalogue.build_brands(brand_ref)
    products = catalogue.build_products(catalogue.read_reference("catalogue"), brands_full, rng,
                                        life_scale=shape.life_scale)
    stores, dyn = network.build_stores(catalogue.read_reference("cities"), n_stores, start, days, rng,
                                       opening_share=shape.opening_share)
    dcs = network.DCS.copy()
    users = network.build_users(stores, brands_full, rng)

    launch, eol = demand.sku_days(products, start)
    curve = demand.curve_matrix(launch, eol, days, rng, ramp_scale=shape.ramp_scale, decline=shape.decline)
    pop = demand.sku_popularity(products, brands_full, rng)
    cells = demand.choose_assortment(dyn, launch, eol, curve, pop, days, rng)
    if shape.regional_preference > 0:
        demand.regional_preference(cells, stores["province"].to_numpy(), products["brand_code"].to_numpy(),
                                   shape.regional_preference, rng)
    promos = demand.draw_promotions(cells, days, rng, share=shape.promo_share,
                                    uplift=(shape.promo_uplift_low, shape.promo_uplift_high))
    season = catalogue.daily_seasonality(start, days, catalogue.read_reference("holidays"),
                                         strength=shape.holiday_strength)
    level = demand.calibrate_level(demand.expected_daily_demand(cells, promos, curve, season), start, n_stores)

    store_dc = pd.Index(dcs["code"]).get_indexer(stores["dc_code"])
    brand_index = pd.Index(brands_full["code"]).get_indexer(products["brand_code"])
    outcome = trading.simulate(
        cells=cells, promos=promos, dyn=dyn, store_dc=store_dc, n_dcs=len(dcs), curve=curve, season=season,
        level=level, start_weekday=start.weekday(),
        lead_days=brands_full["lead_time_days"].to_numpy()[brand_index],
        moq=brands_full["moq"].to_numpy(), pack=products["pack_size"].to_numpy(), sku_brand=brand_index,
        eol=eol, rng=rng, progress=progress, stockout=shape.stockout,
    )
    movement_rows, shipments = movements.build_ledger(
        outcome, cells=cells, stores=stores, dcs=dcs, products=products, store_dc=store_dc,
        start=start, days=days,
    )
    world = World(
        brands=brands_full[catalogue.BRAND_COLUMNS].reset_index(drop=True),
        products=products.reset_index(drop=True),
        stores=stores.reset_index(drop=True),
        dcs=dcs,
        users=users,
        movements=movement_rows,
        shipments=shipments,
    )
    sold = -movement_rows.loc[movement_rows["kind"] == "sale", "quantity"]
    years = movement_rows.loc[sold.index, "ts"].dt.tz_convert("Asia/Shanghai").dt.year
    stats = {
        "cells": int(len(cells.store)),
        "demand_units": outcome.demand_units,
        "sold_units": outcome.sold_units,
        "lost_share": round(1.0 - outcome.sold_units / max(outcome.demand_units, 1), 4),
        "dc_fill_rate": round(outcome.dc_fill_rate, 4),
        "units_by_year": {int(y): int(u) for y, u in sold.groupby(years.to_numpy()).sum().items()},
    }
    if truth:
        cell, week, mean = demand.weekly_truth(cells, promos, curve, season, level)
        stats["truth"] = truth_frame(world, cells, cell, week, mean, start)
    return world, stats


def truth_frame(world: World, cells: demand.Cells, cell, week, mean, start: date) -> pd.DataFrame:
    """store (code), sku, week (Monday), mean: expected demand of each store x SKU x week."""
    return pd.DataFrame({
        "store": world.stores["code"].to_numpy()[cells.store[cell]],
        "sku": world.products["sku"].to_numpy()[cells.sku[cell]],
        "week": pd.Timestamp(start) + pd.to_timedelta(week * 7, unit="D"),
        "mean": mean,
    }).sort_values(["store", "sku", "week"], ignore_index=True)


def main(argv: list[str] | None = None) -> None:
    from retail.services.exports import export_frames

    parser = argparse.ArgumentParser(description="Generate the demo world and export forecasting frames.")
    parser.add_argument("--stores", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--export", type=Path, default=None, help="directory for sales/products/stores.parquet")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--shape", default="default", choices=sorted(PRESETS),
                        help="preset of the world's shape (retail/demo/shape.py); the flags below override it")
    for name, help_text in SHAPE_FLAGS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=None, help=help_text)
    args = parser.parse_args(argv)
    shape = shape_from(args.shape, **{name: getattr(args, name) for name in SHAPE_FLAGS})
    began = time.perf_counter()
    world, stats = build_world(seed=args.seed, n_stores=args.stores, start=HISTORY_START, end=HISTORY_END,
                               progress=not args.no_progress, shape=shape, truth=args.export is not None)
    if args.export is not None:
        args.export.mkdir(parents=True, exist_ok=True)
        for name, frame in export_frames(world).items():
            frame.to_parquet(args.export / f"{name}.parquet", index=False)
        stats["truth"].to_parquet(args.export / "truth.parquet", index=False)
    print(json.dumps({
        "shape": args.shape, "demand_units": stats["demand_units"], "sold_units": stats["sold_units"],
        "stores": len(world.stores), "brands": len(world.brands), "skus": len(world.products),
        "users": len(world.users), "movements": len(world.movements),
        "units_by_year": stats["units_by_year"], "lost_share": stats["lost_share"], "dc_fill_rate": stats["dc_fill_rate"],
        "seconds": round(time.perf_counter() - began, 1),
    }))


SHAPE_FLAGS = {
    "life_scale": "life length x the catalogue's (default 1)",
    "ramp_scale": "ramp to the peak x 56-84 days (default 1)",
    "decline": "fall from the peak to end of life, share of the peak (default 0.75)",
    "promo_share": "share of store x SKU cells with a promotion each year (default 0.22)",
    "promo_uplift_low": "lowest demand multiplier of a promotion (default 1.5)",
    "promo_uplift_high": "highest demand multiplier of a promotion (default 2.5)",
    "regional_preference": "sigma of the lognormal province x brand taste (default 0: none)",
    "opening_share": "share of stores opening during the history (default 0.15)",
    "holiday_strength": "exponent on the holiday multipliers (default 1; 0: none)",
    "stockout": "share of store reorders not shipped (default 0)",
}


if __name__ == "__main__":
    main()
