"""Worlds for the settlement tests: small_world (A franchise in CNY, B consignment in HKD), a planner, a manager,
stock at the DC, and orders made through the replenishment verbs (a run with one suggestion per SKU)."""
from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session

from retail.models import ForecastRun, ReplenishmentRun, SuggestedLine, User
from retail.services import agreements, prices, replenishment, settlement
from tests.committing import inventory
from tests.factories import small_world

_runs = itertools.count(1)
BEFORE = datetime(2026, 1, 2, 2, tzinfo=UTC)


def at(day: str, hour_utc: int = 4) -> datetime:
    """A moment on a day, by default noon in Shanghai and Hong Kong."""
    return datetime.fromisoformat(day).replace(hour=hour_utc, tzinfo=UTC)


def world(session: Session) -> dict:
    w = small_world(session)
    w["planner"] = User(email="planner@example.com", name="Planner", role="planner", language="en")
    w["manager"] = User(email="manager@a.example.com", name="A manager", role="store_manager", store_id=w["a"].id)
    w["manager_b"] = User(email="manager@b.example.com", name="B manager", role="store_manager", store_id=w["b"].id,
                          language="zh_Hant")
    session.add_all([w["planner"], w["manager"], w["manager_b"]])
    session.commit()
    inventory.receive_purchase(session, location_id=w["dc"].id, sku="RK-CASE", quantity=500, at=BEFORE)
    for sku, amount in (("RK-CASE", "100.00"), ("RK-MAX2-BLK", "2000.00")):
        prices.add_price(session, w["planner"], sku=sku, price_list="B", currency="CNY", amount=amount,
                         valid_from=date(2026, 1, 1))
    return w


def franchise(session: Session, w: dict, *, credit_limit="5000", valid_from=date(2026, 1, 1), **terms):
    return agreements.create_version(session, w["planner"], store_id=w["a"].id, valid_from=valid_from,
                                     model="franchise", wholesale_tier="B", credit_limit=credit_limit,
                                     payment_terms_days=30, **terms)


def consignment(session: Session, w: dict, *, share="0.20", shrinkage="0.50", valid_from=date(2026, 1, 1), **terms):
    return agreements.create_version(session, w["planner"], store_id=w["b"].id, valid_from=valid_from,
                                     model="consignment", revenue_share=share, shrinkage_rate=shrinkage, **terms)


def order(session: Session, w: dict, *, store="a", quantities: dict[str, int]):
    """A run suggesting `quantities` (SKU -> units) to the store, submitted by its manager (or the planner)."""
    n = next(_runs)
    forecast = ForecastRun(start_week=date(2026, 1, 5) + timedelta(weeks=n), horizon=13)
    session.add(forecast)
    session.flush()
    run = ReplenishmentRun(forecast_run_id=forecast.id, as_of=forecast.start_week)
    session.add(run)
    session.flush()
    products = {"RK-CASE": w["case"], "RK-MAX2-BLK": w["glasses"]}
    for sku, units in quantities.items():
        session.add(SuggestedLine(run_id=run.id, location_id=w[store].id, product_id=products[sku].id,
                                  quantity=units, explanation={}))
    session.commit()
    actor = w["manager"] if store == "a" else w["planner"]
    return replenishment.submit(session, actor, store_id=w[store].id, run_id=run.id)


def shipped(session: Session, w: dict, monkeypatch, when: datetime, quantities: dict[str, int], **approve):
    """An order submitted, approved and shipped at `when` (the invoice's date)."""
    monkeypatch.setattr(settlement, "utcnow", lambda: when)
    made = order(session, w, quantities=quantities)
    replenishment.approve(session, w["planner"], order_id=made.id, **approve)
    return replenishment.ship(session, w["planner"], order_id=made.id)


def money(value: str) -> Decimal:
    return Decimal(value)
