"""The database as the frames the forecasting library reads: weekly sales, products, stores.

One path for every reader (the `demo export` command, the forecast run, the simulation's input):
the ledger is read once with plain SQL and turned into frames by `retail.demo.frames`, the same
code that serves the generated world, so a world exported from the database and the world as
generated give the same files.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from sqlalchemy import Engine, select

from retail.demo.frames import export_frames
from retail.models import Brand, Location, Movement, Product


def read_world(engine: Engine) -> SimpleNamespace:
    """Brands, products, stores and the ledger, in the generator's column names."""
    with engine.connect() as c:
        brands = pd.DataFrame(c.execute(select(Brand.id, Brand.code, Brand.lead_time_days, Brand.moq)).all(),
                              columns=["id", "code", "lead_time_days", "moq"])
        products = pd.DataFrame(c.execute(select(
            Product.id, Product.sku, Product.brand_id, Product.category, Product.launch_date, Product.eol_date,
            Product.list_price_cny, Product.wholesale_cost, Product.pack_size)).all(),
            columns=["id", "sku", "brand_id", "category", "launch_date", "eol_date", "list_price_cny",
                     "wholesale_cost_cny", "pack_size"])
        locations = pd.DataFrame(c.execute(select(
            Location.id, Location.code, Location.kind, Location.province, Location.city, Location.city_tier,
            Location.market, Location.currency, Location.size_class, Location.partnership, Location.dc_id,
            Location.timezone, Location.status)).all(),
            columns=["id", "code", "kind", "province", "city", "city_tier", "market", "currency", "size_class",
                     "partnership", "dc_id", "timezone", "status"])
        movements = pd.DataFrame(c.execute(select(
            Movement.ts, Movement.location_id, Movement.product_id, Movement.kind, Movement.quantity)).all(),
            columns=["ts", "location_id", "product_id", "kind", "quantity"])
    products["brand_code"] = products["brand_id"].map(brands.set_index("id")["code"])
    for column in ("list_price_cny", "wholesale_cost_cny"):
        products[column] = products[column].astype(float)
    code_of = locations.set_index("id")["code"]
    stores = locations[locations["kind"] == "store"].copy()
    stores["dc_code"] = stores["dc_id"].map(code_of)
    movements = pd.DataFrame({
        "ts": pd.to_datetime(movements["ts"], utc=True),
        "location": movements["location_id"].map(code_of),
        "sku": movements["product_id"].map(products.set_index("id")["sku"]),
        "kind": movements["kind"], "quantity": movements["quantity"].astype("int64"),
    })
    return SimpleNamespace(brands=brands, products=products, stores=stores.reset_index(drop=True),
                           movements=movements)


def forecasting_frames(engine: Engine) -> dict[str, pd.DataFrame]:
    """sales, products and stores frames in the forecasting library's contract."""
    return export_frames(read_world(engine))


def export_database(engine: Engine, directory: Path) -> dict[str, int]:
    """Write sales.parquet, products.parquet and stores.parquet; returns rows written per file."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in forecasting_frames(engine).items():
        frame.to_parquet(directory / f"{name}.parquet", index=False)
        written[f"{name}.parquet"] = len(frame)
    return written
