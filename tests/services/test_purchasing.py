"""Purchase orders to brands through the service layer, on SQLite and PostgreSQL: made by the replenishment
plan (once), answered and notified by the brand, received at the warehouse like any delivery."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.models import (
    Brand,
    ForecastRun,
    Movement,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseProposal,
    ReplenishmentRun,
    SerialUnit,
    Shipment,
    StockBalance,
    User,
)
from retail.services import catalogue, deliveries, forecasts, purchasing, replenishment
from retail.services.ledger import inbound
from retail.services.ledger.shipments import Line
from tests.committing import inventory
from tests.factories import small_world

FIRST = datetime(2026, 1, 5, 4, tzinfo=UTC)


@pytest.fixture
def world(session):
    w = small_world(session)
    other = Brand(code="HW", name="Huawei", name_zh="华为")
    session.add(other)
    session.flush()
    w["other_brand"] = other
    w["planner"] = User(email="planner@example.com", name="Planner", role="planner")
    w["partner"] = User(email="partner@rokid.example.com", name="Rokid", role="brand_partner", brand_id=w["brand"].id)
    w["other_partner"] = User(email="partner@hw.example.com", name="Huawei", role="brand_partner", brand_id=other.id)
    session.add_all([w["planner"], w["partner"], w["other_partner"]])
    session.commit()
    return w


def proposals_run(session, world, lines=(("RK-MAX2-BLK", 4), ("RK-CASE", 30))) -> ReplenishmentRun:
    forecast_run = ForecastRun(start_week=date(2026, 11, 2), horizon=13)
    session.add(forecast_run)
    session.flush()
    run = ReplenishmentRun(forecast_run_id=forecast_run.id, as_of=date(2026, 11, 2))
    session.add(run)
    session.flush()
    for sku, quantity in lines:
        product = world["glasses"] if sku == "RK-MAX2-BLK" else world["case"]
        session.add(PurchaseProposal(run_id=run.id, dc_id=world["dc"].id, product_id=product.id,
                                     brand_id=world["brand"].id, quantity=quantity, arrival_week=date(2026, 11, 23),
                                     explanation={}))
    session.commit()
    return run


def test_the_plan_turns_its_purchase_proposals_into_orders_once(session, world):
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=60, at=FIRST)
    for week in range(20):
        inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE", quantity=1 + week % 3,
                              at=FIRST + timedelta(weeks=week, days=2))
    inventory.write_off(session, location_id=world["a"].id, sku="RK-CASE", quantity=18, reason="damaged",
                        at=FIRST + timedelta(weeks=20))
    forecasts.run_forecast(session, horizon=13)
    run = replenishment.plan(session, actor_id=None)
    proposals = session.execute(select(PurchaseProposal).where(PurchaseProposal.run_id == run.id)).scalars().all()
    assert proposals, "the world should make the plan buy cases: the DC holds none"
    orders = session.execute(select(PurchaseOrder).where(PurchaseOrder.run_id == run.id)).scalars().all()
    assert {(o.brand_id, o.dc_id) for o in orders} == {(p.brand_id, p.dc_id) for p in proposals}
    lines = session.execute(select(PurchaseOrderLine)).scalars().all()
    assert sorted((ln.product_id, ln.quantity, ln.proposal_id) for ln in lines) == sorted(
        (p.product_id, p.quantity, p.id) for p in proposals)
    assert all(o.status == "open" and o.reference.startswith(f"PO-{run.id}-") for o in orders)
    # A re-run plan, and the job itself again, make nothing twice.
    assert replenishment.plan(session, actor_id=None).id == run.id
    assert purchasing.orders_from_plan(session, run_id=run.id) == []
    session.commit()
    assert session.execute(select(func.count()).select_from(PurchaseOrder)).scalar_one() == len(orders)
    assert session.execute(select(func.count()).select_from(PurchaseOrderLine)).scalar_one() == len(lines)


def test_a_plan_made_before_purchase_orders_gets_them_when_planned_again(session, world):
    run = proposals_run(session, world)
    assert session.execute(select(func.count()).select_from(PurchaseOrder)).scalar_one() == 0
    again = replenishment.plan(session, forecast_run_id=run.forecast_run_id, as_of=run.as_of)
    assert again.id == run.id
    assert session.execute(select(func.count()).select_from(PurchaseOrder)).scalar_one() == 1


def _order(session, world) -> PurchaseOrder:
    run = proposals_run(session, world)
    order = purchasing.orders_from_plan(session, run_id=run.id)[0]
    session.commit()
    return order


def test_a_brand_partner_answers_and_notifies_and_the_dc_receives(session, world):
    order = _order(session, world)
    brand_id, partner = world["brand"].id, world["partner"]
    purchasing.answer(session, partner, brand_id=brand_id, order_id=order.id,
                      answers=[purchasing.Answer("RK-MAX2-BLK", 3), purchasing.Answer("RK-CASE", 30)])
    assert session.get(PurchaseOrder, order.id).status == "answered"
    notice = purchasing.notify_shipment(
        session, partner, brand_id=brand_id, order_id=order.id, reference="ASN-9",
        lines=[purchasing.NoticeLine("RK-MAX2-BLK", 3, ("U-1", "U-2", "U-3")), purchasing.NoticeLine("RK-CASE", 30)],
        expected_at=datetime(2026, 11, 20, tzinfo=UTC))
    assert session.get(PurchaseOrder, order.id).status == "closed"
    shipment = session.get(Shipment, notice.shipment_id)
    assert shipment.from_location_id is None and shipment.reference == "ROKID:ASN-9"
    # The warehouse receives it through the delivery verb (a planner, at the DC), scanning the serials.
    deliveries.receive(session, world["planner"], store_id=world["dc"].id, shipment_id=shipment.id,
                       serials={"RK-MAX2-BLK": ["U-1", "U-2", "U-3"]})
    session.expire_all()
    glasses = session.get(StockBalance, (world["dc"].id, world["glasses"].id))
    case = session.get(StockBalance, (world["dc"].id, world["case"].id))
    assert (glasses.on_hand, glasses.in_transit, case.on_hand, case.in_transit) == (3, 0, 30, 0)
    assert {u.state for u in session.execute(select(SerialUnit).where(SerialUnit.serial.like("U-%"))).scalars()} == {
        "in_stock"}
    moved = session.execute(select(Movement.kind, func.sum(Movement.quantity)).where(
        Movement.location_id == world["dc"].id, Movement.reference == shipment.reference).group_by(Movement.kind)).all()
    assert moved == [("transfer_in", 33)]


def test_a_partial_receipt_leaves_the_missing_serials_in_transit(session, world):
    order = _order(session, world)
    purchasing.answer(session, world["partner"], brand_id=world["brand"].id, order_id=order.id,
                      answers=[purchasing.Answer("RK-MAX2-BLK", 2), purchasing.Answer("RK-CASE", reject=True)])
    notice = purchasing.notify_shipment(session, world["partner"], brand_id=world["brand"].id, order_id=order.id,
                                        reference="ASN-P", lines=[purchasing.NoticeLine("RK-MAX2-BLK", 2, ("P-1", "P-2"))])
    deliveries.receive(session, world["planner"], store_id=world["dc"].id, shipment_id=notice.shipment_id,
                       serials={"RK-MAX2-BLK": ["P-1"]})
    session.expire_all()
    units = dict(session.execute(select(SerialUnit.serial, SerialUnit.state).where(SerialUnit.serial.like("P-%"))).all())
    assert units == {"P-1": "in_stock", "P-2": "in_transit"}
    assert session.get(StockBalance, (world["dc"].id, world["glasses"].id)).on_hand == 1


def test_another_brands_partner_cannot_reach_the_order(session, world):
    order = _order(session, world)
    with pytest.raises(errors.NotFound):
        purchasing.answer(session, world["other_partner"], brand_id=world["other_brand"].id, order_id=order.id,
                          answers=[purchasing.Answer("RK-CASE", reject=True)])
    with pytest.raises(errors.Forbidden):
        purchasing.answer(session, world["other_partner"], brand_id=world["brand"].id, order_id=order.id,
                          answers=[purchasing.Answer("RK-CASE", reject=True)])
    with pytest.raises(errors.NotFound):
        purchasing.order(session, brand_id=world["other_brand"].id, order_id=order.id)


def test_inbound_shipments_refuse_known_serials_and_write_nothing(session, world):
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-MAX2-BLK", quantity=1, serials=["OLD-1"])
    with pytest.raises(errors.DuplicateSerial):
        inbound.ship_from_brand(session, to_location_id=world["dc"].id, reference="IN-1",
                                lines=[Line("RK-MAX2-BLK", 2, ("NEW-1", "OLD-1"))])
    session.rollback()
    assert session.execute(select(func.count()).select_from(Shipment)).scalar_one() == 0
    with pytest.raises(errors.SerialsRequired):
        inbound.ship_from_brand(session, to_location_id=world["dc"].id, reference="IN-2",
                                lines=[Line("RK-MAX2-BLK", 2, ("NEW-1",))])
    session.rollback()


def test_product_changes_are_versioned_and_bounded(session, world):
    partner, brand_id = world["partner"], world["brand"].id
    product = catalogue.update_product(session, partner, brand_id=brand_id, sku="RK-CASE", version=1,
                                       changes={"model": "Case v2", "list_price_cny": "209.5"})
    assert product.version == 2 and str(product.list_price_cny) == "209.50"
    with pytest.raises(errors.VersionMismatch):
        catalogue.update_product(session, partner, brand_id=brand_id, sku="RK-CASE", version=1, changes={"model": "x"})
    with pytest.raises(errors.InvalidMoney):
        catalogue.update_product(session, partner, brand_id=brand_id, sku="RK-CASE", version=2,
                                 changes={"wholesale_cost": "1e3"})
    with pytest.raises(errors.InvalidValue):
        catalogue.update_product(session, partner, brand_id=brand_id, sku="RK-CASE", version=2,
                                 changes={"serialised": True})
    with pytest.raises(errors.NotFound):
        catalogue.update_product(session, world["other_partner"], brand_id=world["other_brand"].id, sku="RK-CASE",
                                 version=2, changes={"model": "x"})
    created = catalogue.create_product(session, partner, brand_id=brand_id, sku="RK-NEW", values={
        "model": "New", "category": "audio", "list_price_cny": "1", "list_price_hkd": "1", "wholesale_cost": "0.5",
        "launch_date": date(2026, 1, 1)})
    assert created.version == 1 and created.brand_id == brand_id
    with pytest.raises(errors.AlreadyExists):
        catalogue.create_product(session, partner, brand_id=brand_id, sku="RK-NEW", values={
            "model": "New", "category": "audio", "list_price_cny": "1", "list_price_hkd": "1",
            "wholesale_cost": "0.5", "launch_date": date(2026, 1, 1)})
