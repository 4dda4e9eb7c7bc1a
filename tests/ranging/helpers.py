"""A small ranged world: small_world's brand, two stores and a DC, plus a third store, more SKUs, people of every
role, and forecasts written straight into a forecast run (so the weekly demand of each cell is chosen)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session

from retail.models import ForecastRun, ForecastSeries, Location, Product, StoreRange, User
from tests.factories import small_world

MONDAY = date(2026, 11, 30)


def range_world(session: Session) -> dict:
    w = small_world(session)
    brand = w["brand"]
    launch = Product(sku="RK-GLASS-NEW", brand_id=brand.id, model="Rokid Glasses", variant="", category="camera",
                     list_price_cny=Decimal("2499"), list_price_hkd=Decimal("2749"), wholesale_cost=Decimal("1700"),
                     launch_date=MONDAY - timedelta(weeks=2))
    old = Product(sku="RK-AIR-OLD", brand_id=brand.id, model="Rokid Air", variant="", category="ar",
                  list_price_cny=Decimal("1999"), list_price_hkd=Decimal("2199"), wholesale_cost=Decimal("1400"),
                  launch_date=date(2024, 6, 1), eol_date=MONDAY + timedelta(weeks=2))
    station = Product(sku="RK-STATION", brand_id=brand.id, model="Rokid Station", variant="", category="ar",
                      list_price_cny=Decimal("1299"), list_price_hkd=Decimal("1429"), wholesale_cost=Decimal("800"),
                      launch_date=date(2025, 1, 1))
    session.add_all([launch, old, station])
    store_c = Location(code="S0003", name="北京朝阳店", city="Beijing", province="Beijing", city_tier=1,
                       partnership="franchise", dc_id=w["dc"].id, size_class="S")
    session.add(store_c)
    session.flush()
    people = {
        "planner": User(email="planner@example.com", name="Planner", role="planner"),
        "planner2": User(email="planner2@example.com", name="Planner 2", role="planner"),
        "admin": User(email="admin@example.com", name="Admin", role="admin", language="en"),
        "manager": User(email="manager@a.example.com", name="A manager", role="store_manager",
                        store_id=w["a"].id),
        "partner": User(email="partner@rokid.example.com", name="Rokid", role="brand_partner", brand_id=brand.id),
        "gone_planner": User(email="gone@example.com", name="Left planner", role="planner", active=False),
    }
    session.add_all(people.values())
    session.commit()
    w.update(people)
    w.update(launch=launch, old=old, station=station, c=store_c)
    return w


def forecast(session: Session, means: list, *, start: date = MONDAY, horizon: int = 13) -> ForecastRun:
    """A stored forecast run: [(store Location, Product, weekly mean)] with flat weeks and rough quantiles."""
    run = ForecastRun(start_week=start, horizon=horizon, quantiles=[0.5, 0.8, 0.95], dispersion={"store": 0.0},
                      series=len(means))
    session.add(run)
    session.flush()
    for store, product, mean in means:
        session.add(ForecastSeries(run_id=run.id, location_id=store.id, product_id=product.id, mean=[mean] * horizon,
                                   quantiles={"p50": [0] * horizon, "p80": [1] * horizon, "p95": [2] * horizon}))
    session.commit()
    return run


def proposal(session: Session, store, product, decision: str, *, week: date = MONDAY, previous: str = "stock",
             status: str = "proposed", reason: str = "low_demand") -> StoreRange:
    row = StoreRange(location_id=store.id, product_id=product.id, week=week, decision=decision, previous=previous,
                     status=status, reason=reason, valid_from=week, currency="CNY")
    session.add(row)
    session.commit()
    return row
