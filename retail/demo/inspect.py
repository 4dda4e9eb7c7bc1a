"""Read-only figures about whatever world the database holds."""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select, text

from retail.models import Brand, Location, Movement, Product, User


def clock() -> float:
    return time.perf_counter()


def has_locations(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(select(Location.id).limit(1)).first() is not None


def database_bytes(engine: Engine) -> int:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    path = Path(engine.url.database or "")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def stats(engine: Engine) -> dict:
    with engine.connect() as connection:
        count = lambda stmt: connection.execute(stmt).scalar_one()  # noqa: E731
        brand_codes = list(connection.execute(select(Brand.code).order_by(Brand.code)).scalars())
        sales = pd.DataFrame(connection.execute(
            select(Movement.ts, Movement.quantity).where(Movement.kind == "sale")).all(), columns=["ts", "quantity"])
        figures = {
            "stores": count(select(func.count()).select_from(Location).where(Location.kind == "store")),
            "distribution_centres": count(select(func.count()).select_from(Location).where(Location.kind == "dc")),
            "brands": len(brand_codes),
            "brand_codes": brand_codes,
            "skus": count(select(func.count()).select_from(Product)),
            "users": count(select(func.count()).select_from(User)),
            "movements": count(select(func.count()).select_from(Movement)),
        }
    if sales.empty:
        figures["units_by_year"] = {}
    else:
        # Years in China Standard Time (UTC+8), where nearly all stores are.
        local = pd.to_datetime(sales["ts"], utc=True).dt.tz_convert("Asia/Shanghai")
        by_year = (-sales["quantity"]).groupby(local.dt.year).sum()
        figures["units_by_year"] = {str(year): int(units) for year, units in by_year.items()}
    return figures
