"""Franchise orders are purchases (issue 15): priced at submission, held beyond the credit limit (and shown
why), approved only with the hold acknowledged, invoiced once when shipped. Consignment orders and stores
without an agreement are transfers as before. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.models import AuditLog, Invoice, OrderPricing, OrderStatus
from retail.services import prices, replenishment, settlement
from retail.services.replenishment import OrderStateConflict
from tests.settlement.helpers import at, consignment, franchise, order, shipped, world


@pytest.fixture
def w(session):
    return world(session)


def invoices(session) -> int:
    return session.execute(select(func.count()).select_from(Invoice)).scalar_one()


def test_an_order_beyond_the_credit_limit_is_held_does_not_ship_and_is_invoiced_once_after_approval(
        session, w, monkeypatch):
    franchise(session, w, credit_limit="2000")
    shipped(session, w, monkeypatch, at("2026-10-05"), {"RK-CASE": 10})  # open balance 1,000.00
    held = order(session, w, quantities={"RK-CASE": 15})  # + 1,500.00 > 2,000.00
    pricing = session.get(OrderPricing, held.id)
    assert (pricing.held, str(pricing.total), str(pricing.open_balance)) == (True, "1500.00", "1000.00")
    assert pricing.hold_reasons == [{"code": "hold_credit_limit", "open_balance": "1000.00", "pending": "0.00",
                                     "order_total": "1500.00", "credit_limit": "2000.00", "currency": "CNY"}]
    assert [p.order_id for p, _o, _s in settlement.credit_holds(session)] == [held.id]

    with pytest.raises(OrderStateConflict):  # not approved: it does not ship
        replenishment.ship(session, w["planner"], order_id=held.id)
    with pytest.raises(errors.CreditHoldNotAcknowledged):
        replenishment.approve(session, w["planner"], order_id=held.id)
    session.expire_all()
    assert session.get(type(held), held.id).status == OrderStatus.submitted
    assert invoices(session) == 1

    replenishment.approve(session, w["planner"], order_id=held.id, acknowledge_credit_hold=True)
    assert settlement.credit_holds(session) == []
    replenishment.ship(session, w["planner"], order_id=held.id)
    replenishment.ship(session, w["planner"], order_id=held.id)  # a retried request acts once
    settlement.invoice_order(session, w["planner"], order_id=held.id)
    assert invoices(session) == 2
    invoice = session.execute(select(Invoice).where(Invoice.order_id == held.id)).scalars().one()
    assert (str(invoice.total), invoice.currency, invoice.lines[0]["quantity"]) == ("1500.00", "CNY", 15)
    assert settlement.store_balance(session, store_id=w["a"].id) == 2500
    acknowledged = session.execute(select(AuditLog).where(AuditLog.action == "order.hold_acknowledged")).scalars().all()
    assert [a.actor_id for a in acknowledged] == [w["planner"].id]


def test_within_the_limit_an_order_is_not_held_and_orders_not_yet_invoiced_count(session, w, monkeypatch):
    franchise(session, w, credit_limit="2000")
    first = order(session, w, quantities={"RK-CASE": 12})  # 1,200.00: within
    assert session.get(OrderPricing, first.id).held is False
    second = order(session, w, quantities={"RK-CASE": 9})  # 1,200.00 pending + 900.00 > 2,000.00
    assert session.get(OrderPricing, second.id).hold_reasons[0]["pending"] == "1200.00"
    replenishment.approve(session, w["planner"], order_id=first.id)  # not held: approved as before


def test_prices_come_from_the_tier_in_force_with_promotions_and_brand_overrides(session, w):
    prices.add_price(session, w["planner"], sku="RK-CASE", price_list="B", currency="CNY", amount="80",
                     valid_from=date(2026, 11, 20), valid_to=date(2026, 12, 31), promotion=True)
    today = date(2026, 11, 29)
    assert prices.price_in_force(session, product_id=w["case"].id, price_list="B", currency="CNY", day=today) == 80
    assert prices.price_in_force(session, product_id=w["case"].id, price_list="B", currency="CNY",
                                 day=date(2027, 1, 1)) == 100
    # No entry: the list price (the product's column) less the tier's discount.
    assert str(prices.price_in_force(session, product_id=w["case"].id, price_list="A", currency="HKD",
                                     day=today)) == "131.40"  # 219 x 0.60
    franchise(session, w, brand_terms={str(w["brand"].id): {"tier": "A"}})
    made = order(session, w, quantities={"RK-CASE": 2})
    assert session.get(OrderPricing, made.id).lines[0]["unit_price"] == "119.40"  # 199 x 0.60


def test_suspended_agreement_or_unauthorised_brand_holds_the_order(session, w):
    franchise(session, w, status="suspended", authorised_brands=[])
    made = order(session, w, quantities={"RK-CASE": 1})
    reasons = [r["code"] for r in session.get(OrderPricing, made.id).hold_reasons]
    assert reasons == ["hold_agreement_status", "hold_brand_not_authorised"]


def test_consignment_and_stores_without_an_agreement_are_not_priced_nor_invoiced(session, w, monkeypatch):
    made = shipped(session, w, monkeypatch, at("2026-10-05"), {"RK-CASE": 2})  # store A, no agreement
    assert made.status == OrderStatus.shipped and session.get(OrderPricing, made.id) is None
    consignment(session, w)
    transfer = order(session, w, store="b", quantities={"RK-CASE": 2})
    replenishment.approve(session, w["planner"], order_id=transfer.id)
    replenishment.ship(session, w["planner"], order_id=transfer.id)
    assert session.get(OrderPricing, transfer.id) is None
    assert invoices(session) == 0
