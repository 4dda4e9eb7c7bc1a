"""Forecast runs, replenishment plans and orders through the service layer, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from retail.models import (
    AuditLog,
    ForecastSeries,
    OrderStatus,
    ReplenishmentRun,
    StockBalance,
    SuggestedLine,
    User,
)
from retail.services import forecasts, replenishment
from tests.committing import inventory
from tests.factories import small_world

FIRST = datetime(2026, 1, 5, 4, tzinfo=UTC)  # a Monday, noon in Shanghai


@pytest.fixture
def world(session):
    w = small_world(session)
    w["planner"] = User(email="planner@example.com", name="Planner", role="planner")
    w["manager"] = User(email="manager@a.example.com", name="A manager", role="store_manager", store_id=w["a"].id)
    session.add_all([w["planner"], w["manager"]])
    session.commit()
    inventory.receive_purchase(session, location_id=w["a"].id, sku="RK-CASE", quantity=60, at=FIRST)
    serials = [f"SN{i:04d}" for i in range(12)]
    inventory.receive_purchase(session, location_id=w["dc"].id, sku="RK-MAX2-BLK", quantity=12, serials=serials,
                               at=FIRST)
    for week in range(20):
        inventory.record_sale(session, store_id=w["a"].id, sku="RK-CASE", quantity=1 + week % 3,
                              at=FIRST + timedelta(weeks=week, days=2))
    # Bring store A's case stock low so that the plan orders.
    inventory.write_off(session, location_id=w["a"].id, sku="RK-CASE", quantity=18, reason="damaged",
                        at=FIRST + timedelta(weeks=20))
    return w


def test_forecast_run_stores_one_compact_row_per_series_and_is_not_repeated(session, world):
    run = forecasts.run_forecast(session, horizon=13)
    again = forecasts.run_forecast(session, horizon=13)
    assert again.id == run.id
    rows = session.execute(select(ForecastSeries).where(ForecastSeries.run_id == run.id)).scalars().all()
    assert len(rows) == run.series >= 1
    assert all(len(r.mean) == 13 and len(r.quantiles["p95"]) == 13 for r in rows)
    frame = forecasts.forecast_frame(session, run_id=run.id)
    assert set(frame.columns) >= {"store", "sku", "week", "mean", "p50", "p95"}
    assert frame.loc[frame.sku == "RK-CASE", "mean"].sum() > 0


def test_forecast_rerun_finds_its_run_from_the_ledger_end_without_reading_the_sales(session, world, monkeypatch):
    run = forecasts.run_forecast(session, horizon=13)
    products, stores = forecasts.master_frames(session)
    sales = forecasts.weekly_sales(session, stores)
    assert forecasts.ledger_next_week(session) == (sales["week"].max() + pd.Timedelta(weeks=1)).date() == run.start_week

    def no_read(*_args, **_kwargs):
        raise AssertionError("the sales were read again")

    monkeypatch.setattr(forecasts, "weekly_sales", no_read)
    assert forecasts.run_forecast(session, horizon=13).id == run.id


def test_plan_suggests_with_explanation_and_a_rerun_does_not_duplicate(session, world):
    forecasts.run_forecast(session, horizon=13)
    run = replenishment.plan(session, actor_id=None)
    again = replenishment.plan(session, actor_id=None)
    assert again.id == run.id
    assert session.execute(select(func.count()).select_from(ReplenishmentRun)).scalar_one() == 1
    lines = session.execute(select(SuggestedLine).where(SuggestedLine.run_id == run.id)).scalars().all()
    case = [ln for ln in lines if ln.product_id == world["case"].id and ln.location_id == world["a"].id]
    assert len(case) == 1
    line = case[0]
    assert line.quantity % 5 == 0  # packs of 5
    assert line.explanation["order_up_to"] > line.explanation["position"]
    assert "Suggest" in line.text
    assert session.execute(select(AuditLog).where(AuditLog.action == "replenishment.plan")).first() is not None


def test_submitted_suggestions_are_netted_in_the_next_plan(session, world):
    forecasts.run_forecast(session, horizon=13)
    run = replenishment.plan(session)
    order = replenishment.submit(session, world["manager"], run_id=run.id, store_id=world["a"].id)
    assert order.status == OrderStatus.submitted
    assert replenishment.submit(session, world["manager"], run_id=run.id, store_id=world["a"].id).id == order.id
    fc = forecasts.latest_run(session)
    later = replenishment.plan(session, as_of=fc.start_week + timedelta(weeks=1))
    again = session.execute(select(SuggestedLine).where(SuggestedLine.run_id == later.id,
                                                        SuggestedLine.location_id == world["a"].id,
                                                        SuggestedLine.product_id == world["case"].id)).first()
    assert again is None  # the open order covers the need


def test_order_goes_through_its_states_and_the_ledger(session, world):
    forecasts.run_forecast(session, horizon=13)
    run = replenishment.plan(session)
    order = replenishment.submit(session, world["manager"], run_id=run.id, store_id=world["a"].id,
                                 quantities={world["case"].id: 0, world["glasses"].id: 2})
    # The DC holds no cases: ship only the glasses line. Add one when the plan did not suggest glasses.
    from retail.models import ReplenishmentOrderLine

    lines = session.execute(select(ReplenishmentOrderLine).where(ReplenishmentOrderLine.order_id == order.id)
                            ).scalars().all()
    if not lines:
        session.add(ReplenishmentOrderLine(order_id=order.id, product_id=world["glasses"].id, quantity=2))
        session.commit()
    with pytest.raises(replenishment.OrderStateConflict):
        replenishment.ship(session, world["planner"], order_id=order.id)
    replenishment.approve(session, world["planner"], order_id=order.id)
    shipped = replenishment.ship(session, world["planner"], order_id=order.id)
    assert shipped.status == OrderStatus.shipped and shipped.shipment_id is not None
    assert replenishment.ship(session, world["planner"], order_id=order.id).shipment_id == shipped.shipment_id  # retried: no second
    bal = session.get(StockBalance, (world["a"].id, world["glasses"].id))
    assert bal.in_transit == 2
    replenishment.receive(session, world["manager"], store_id=world["a"].id, order_id=order.id)
    session.refresh(bal)
    assert (bal.on_hand, bal.in_transit) == (2, 0)
    closed = replenishment.close(session, world["planner"], order_id=order.id)
    assert closed.status == OrderStatus.closed
    with pytest.raises(replenishment.OrderStateConflict):
        replenishment.cancel(session, world["planner"], order_id=order.id)
    actions = set(session.execute(select(AuditLog.action).where(AuditLog.entity == "replenishment_order")).scalars())
    assert {"order.submitted", "order.approved", "order.shipped", "order.received", "order.closed"} <= actions


def test_a_submitted_order_can_be_cancelled(session, world):
    forecasts.run_forecast(session, horizon=13)
    run = replenishment.plan(session)
    order = replenishment.submit(session, world["manager"], run_id=run.id, store_id=world["a"].id)
    assert replenishment.cancel(session, world["planner"], order_id=order.id).status == OrderStatus.cancelled


def test_plan_records_the_policy_parameter_it_used(session, world):
    """Without a calibration the plan uses HOLD_PER_KCNY and says so; with one, its value and target (issue 17)."""
    forecasts.run_forecast(session, horizon=13)
    run = replenishment.plan(session)
    assert (run.config["hold_per_kcny"], run.config["target"]) == (replenishment.HOLD_PER_KCNY, None)
    cal = replenishment.record_calibration(session, target=0.96, value=0.0031, achieved=0.958)
    fc = forecasts.latest_run(session)
    later = replenishment.plan(session, as_of=fc.start_week + timedelta(weeks=1))
    assert (later.config["hold_per_kcny"], later.config["target"], later.config["calibration_id"]) == (
        0.0031, 0.96, cal.id)
    bars = {ln.explanation["hold_bar"] for ln in session.execute(
        select(SuggestedLine).where(SuggestedLine.run_id == later.id)).scalars()}
    assert bars and all(b == pytest.approx(0.0031 * 90 / 1000) or b == pytest.approx(0.0031 * 2100 / 1000)
                        for b in bars)
