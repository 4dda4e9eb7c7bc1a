"""The database as the frames the forecasting library reads: weekly sales, products, stores.

One path for every reader (the `demo export` command, the forecast run, the simulation's input):
the ledger is read once with plain SQL and turned into frames by `export_frames`, the same
code that serves the generated demo world, so a world exported from the database and the world as
generated give the same files. Weeks follow the one week rule of `retail.services.weekly_sales`.

The sales frame follows the library's contract (docs/forecasting.md): a row only for the weeks
that say something (a sale, a stockout, a missed sale), and `assortment` with the weeks each
store carried each SKU (start, end), so a carried week without a row sold nothing in stock.

Customer orders (docs/customer-orders.md) are demand of the week they were placed, counted once: an order
handed over or still open is units sold that week (its hand-over sale, in a later week perhaps, is not counted
again: `read_world` names that movement `customer_order_sale`, which moves the balance and sells nothing), and
a cancelled order is a missed sale of that week. A week with units ordered counts as a week in stock: the SKU
could be had, to order.
"""
from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from retail.models import Brand, CustomerOrder, Location, MissedSale, Movement, Product
from retail.services.verbs import job
from retail.services.weekly_sales import forecast_input, weekly_missed, weekly_sales


@job
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
            Movement.id, Movement.ts, Movement.location_id, Movement.product_id, Movement.kind, Movement.quantity)).all(),
            columns=["id", "ts", "location_id", "product_id", "kind", "quantity"])
        ordered = pd.DataFrame(c.execute(select(
            CustomerOrder.placed_at, CustomerOrder.store_id, CustomerOrder.product_id, CustomerOrder.quantity,
            CustomerOrder.state, CustomerOrder.sale_movement_id)).all(),
            columns=["ts", "location_id", "product_id", "quantity", "state", "sale_movement_id"])
        missed = pd.DataFrame(c.execute(select(
            MissedSale.ts, MissedSale.store_id, MissedSale.product_id, MissedSale.quantity)).all(),
            columns=["ts", "location_id", "product_id", "quantity"])
    products["brand_code"] = products["brand_id"].map(brands.set_index("id")["code"])
    for column in ("list_price_cny", "wholesale_cost_cny"):
        products[column] = products[column].astype(float)
    code_of = locations.set_index("id")["code"]
    stores = locations[locations["kind"] == "store"].copy()
    stores["dc_code"] = stores["dc_id"].map(code_of)
    handed_over_sales = movements["id"].isin(ordered["sale_movement_id"].dropna().astype("int64"))
    movements = pd.DataFrame({
        "ts": pd.to_datetime(movements["ts"], utc=True),
        "location": movements["location_id"].map(code_of),
        "sku": movements["product_id"].map(products.set_index("id")["sku"]),
        "kind": movements["kind"].where(~handed_over_sales, CUSTOMER_ORDER_SALE),
        "quantity": movements["quantity"].astype("int64"),
    })
    sku_of = products.set_index("id")["sku"]
    customer_orders = pd.DataFrame({
        "ts": pd.to_datetime(ordered["ts"], utc=True), "location": ordered["location_id"].map(code_of),
        "sku": ordered["product_id"].map(sku_of), "quantity": ordered["quantity"].astype("int64"),
        "state": ordered["state"].astype(str),
    })
    missed = pd.DataFrame({
        "ts": pd.to_datetime(missed["ts"], utc=True), "location": missed["location_id"].map(code_of),
        "sku": missed["product_id"].map(sku_of), "quantity": missed["quantity"].astype("int64"),
    })
    return SimpleNamespace(brands=brands, products=products, stores=stores.reset_index(drop=True),
                           movements=movements, missed=missed, customer_orders=customer_orders)


# A customer order's hand-over sale, as the export names it: it moves the balance, and its units are counted in
# the week the order was placed instead (`with_customer_orders`).
CUSTOMER_ORDER_SALE = "customer_order_sale"


def with_customer_orders(weekly: pd.DataFrame, missed: pd.DataFrame | None, orders: pd.DataFrame | None,
                         stores: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Customer orders (ts = placed, location, sku, quantity, state) as demand of the week they were placed:
    cancelled ones added to the missed sales (rows like `missed_sale`'s), the others to the week's units with the
    week in stock. Returns (weekly, missed)."""
    if orders is None or orders.empty:
        return weekly, missed
    cancelled = orders["state"] == "cancelled"
    rows = orders[["ts", "location", "sku", "quantity"]]
    if cancelled.any():
        missed = pd.concat([missed, rows[cancelled]], ignore_index=True) if missed is not None else rows[cancelled]
    if (~cancelled).any():
        sold = weekly_missed(rows[~cancelled], stores).rename(columns={"missed": "ordered"})
        merged = weekly.merge(sold, on=["store", "sku", "week"], how="outer")
        ordered = merged["ordered"].fillna(0).astype(np.int64)
        weekly = pd.DataFrame({
            "store": pd.array(merged["store"].astype(str).to_numpy(), dtype="str"),
            "sku": pd.array(merged["sku"].astype(str).to_numpy(), dtype="str"),
            "week": merged["week"].astype("datetime64[ns]"),
            "units": (merged["units"].fillna(0).astype(np.int64) + ordered).astype(np.int64),
            "in_stock": np.where(ordered > 0, 1.0, merged["in_stock"].fillna(0.0)),
        }).sort_values(["store", "sku", "week"], kind="stable").reset_index(drop=True)
    return weekly, missed


def export_frames(world) -> dict[str, pd.DataFrame]:
    """The frames the forecasting library reads: sales, assortment, products and stores.

    `world` holds brands, products, stores and movements (and optionally missed sales: ts,
    location, sku, quantity) in the generator's column names: the generated demo world, or the
    database as `read_world` returns it. sales and assortment are `weekly_sales.forecast_input`.
    """
    brands = world.brands.set_index("code")
    p = world.products
    products = pd.DataFrame({
        "sku": p["sku"],
        "brand": p["brand_code"],
        "category": p["category"],
        "launch_date": pd.to_datetime(p["launch_date"]).astype("datetime64[ns]"),
        "eol_date": pd.to_datetime(p["eol_date"]).astype("datetime64[ns]"),
        "list_price": p["list_price_cny"].astype(np.int64),
        "unit_cost": p["wholesale_cost_cny"].astype(np.int64),
        "currency": "CNY",
        "pack_size": p["pack_size"].astype(np.int64),
        "lead_time_weeks": p["brand_code"].map(brands["lead_time_days"]).map(lambda d: math.ceil(d / 7)).astype(np.int64),
        "moq": p["brand_code"].map(brands["moq"]).astype(np.int64),
    })
    s = world.stores
    stores = pd.DataFrame({
        "store": s["code"], "province": s["province"], "city": s["city"], "tier": s["city_tier"].astype(np.int64),
        "market": s["market"], "currency": s["currency"], "size_class": s["size_class"],
        "partnership": s["partnership"], "dc": s["dc_code"],
    })
    weekly, missed = with_customer_orders(weekly_sales(world.movements, world.stores), getattr(world, "missed", None),
                                          getattr(world, "customer_orders", None), world.stores)
    sales, assortment = forecast_input(weekly, weekly_missed(missed, world.stores) if missed is not None else None)
    return {"sales": sales, "assortment": assortment, "products": products, "stores": stores}


@job
def forecasting_frames(engine: Engine) -> dict[str, pd.DataFrame]:
    """sales, assortment, products and stores frames in the forecasting library's contract."""
    return export_frames(read_world(engine))


@job
def export_database(engine: Engine, directory: Path) -> dict[str, int]:
    """Write sales, assortment, products and stores .parquet; returns rows written per file."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in forecasting_frames(engine).items():
        frame.to_parquet(directory / f"{name}.parquet", index=False)
        written[f"{name}.parquet"] = len(frame)
    return written
