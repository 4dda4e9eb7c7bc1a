"""The seeded demo world: brands, products, stores, DCs, users and three years of stock ledger.

    world = generate_world(seed=7, n_stores=3000)

The same seed and arguments give identical frames: all randomness comes from one
numpy Generator and nothing reads the clock.
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
    progress: bool = False,
) -> World:
    """Build the whole demo world; a 3,000-store world takes well under a minute."""
    return build_world(seed=seed, n_stores=n_stores, start=start, end=end, progress=progress)[0]


def build_world(*, seed: int, n_stores: int, start: date, end: date, progress: bool) -> tuple[World, dict]:
    """The world and a few figures about it (units demanded and sold, lost share)."""
    if n_stores < 1:
        raise ValueError(f"n_stores must be at least 1, got {n_stores}; pass e.g. n_stores=3000.")
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start}); the history needs at least one day.")
    days = (end - start).days + 1
    rng = np.random.default_rng(seed)

    brand_ref = catalogue.read_reference("brands")
    brands_full = catalogue.build_brands(brand_ref)
    products = catalogue.build_products(catalogue.read_reference("catalogue"), brands_full, rng)
    stores, dyn = network.build_stores(catalogue.read_reference("cities"), n_stores, start, days, rng)
    dcs = network.DCS.copy()
    users = network.build_users(stores, brands_full, rng)

    launch, eol = demand.sku_days(products, start)
    curve = demand.curve_matrix(launch, eol, days, rng)
    pop = demand.sku_popularity(products, brands_full, rng)
    cells = demand.choose_assortment(dyn, launch, eol, curve, pop, days, rng)
    promos = demand.draw_promotions(cells, days, rng)
    season = catalogue.daily_seasonality(start, days, catalogue.read_reference("holidays"))
    level = demand.calibrate_level(demand.expected_daily_demand(cells, promos, curve, season), start, n_stores)

    store_dc = pd.Index(dcs["code"]).get_indexer(stores["dc_code"])
    brand_index = pd.Index(brands_full["code"]).get_indexer(products["brand_code"])
    outcome = trading.simulate(
        cells=cells, promos=promos, dyn=dyn, store_dc=store_dc, n_dcs=len(dcs), curve=curve, season=season,
        level=level, start_weekday=start.weekday(),
        lead_days=brands_full["lead_time_days"].to_numpy()[brand_index],
        moq=brands_full["moq"].to_numpy(), pack=products["pack_size"].to_numpy(), sku_brand=brand_index,
        eol=eol, rng=rng, progress=progress,
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
    return world, stats


def main(argv: list[str] | None = None) -> None:
    from retail.services.exports import export_frames

    parser = argparse.ArgumentParser(description="Generate the demo world and export forecasting frames.")
    parser.add_argument("--stores", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--export", type=Path, default=None, help="directory for sales/products/stores.parquet")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    world, stats = build_world(seed=args.seed, n_stores=args.stores, start=HISTORY_START, end=HISTORY_END,
                               progress=not args.no_progress)
    if args.export is not None:
        args.export.mkdir(parents=True, exist_ok=True)
        for name, frame in export_frames(world).items():
            frame.to_parquet(args.export / f"{name}.parquet", index=False)
    print(json.dumps({
        "stores": len(world.stores), "brands": len(world.brands), "skus": len(world.products),
        "users": len(world.users), "movements": len(world.movements),
        "units_by_year": stats["units_by_year"], "lost_share": stats["lost_share"], "dc_fill_rate": stats["dc_fill_rate"],
        "seconds": round(time.perf_counter() - began, 1),
    }))


if __name__ == "__main__":
    main()
