"""The stock ledger's verbs, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.models import AuditLog, Movement, SerialUnit, StockBalance
from retail.services import inventory, shipments
from tests.factories import small_world


def on_hand(session, location, product) -> int:
    balance = session.get(StockBalance, (location.id, product.id), populate_existing=True)
    return balance.on_hand if balance else 0


def ledger_sum(session, location, product) -> int:
    return session.execute(select(func.coalesce(func.sum(Movement.quantity), 0)).where(
        Movement.location_id == location.id, Movement.product_id == product.id)).scalar_one()


@pytest.fixture
def world(session):
    return small_world(session)


def stock_glasses(session, world, serials=("SN1", "SN2", "SN3")):
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-MAX2-BLK", quantity=len(serials),
                               serials=serials, reference="PO-1")


def test_receipt_then_sale_moves_stock_and_serials(session, world):
    stock_glasses(session, world)
    sale = inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN2"])
    assert sale.quantity == -1 and sale.currency == "CNY" and float(sale.unit_price) == 2999.0
    assert on_hand(session, world["a"], world["glasses"]) == 2 == ledger_sum(session, world["a"], world["glasses"])
    assert session.get(SerialUnit, "SN2", populate_existing=True).state == "sold"


def test_refuses_sale_beyond_stock_on_hand(session, world):
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=2)
    with pytest.raises(errors.InsufficientStock) as refused:
        inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE", quantity=3)
    session.rollback()
    assert refused.value.params == {"sku": "RK-CASE", "location": "S0001", "available": 2, "requested": 3}
    assert on_hand(session, world["a"], world["case"]) == 2
    assert session.execute(select(func.count()).select_from(Movement).where(Movement.kind == "sale")).scalar_one() == 0


def test_finds_product_by_barcode(session, world):
    inventory.receive_purchase(session, location_id=world["a"].id, sku="6970000000024", quantity=1)
    assert on_hand(session, world["a"], world["case"]) == 1


def test_serialised_sale_needs_a_serial_in_this_store(session, world):
    stock_glasses(session, world)
    with pytest.raises(errors.SerialsRequired):
        inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK")
    session.rollback()
    with pytest.raises(errors.UnknownSerial):
        inventory.record_sale(session, store_id=world["b"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    session.rollback()
    with pytest.raises(errors.UnknownSerial):
        inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["NOPE"])
    session.rollback()
    assert on_hand(session, world["a"], world["glasses"]) == 3


def test_a_serial_cannot_be_sold_twice(session, world):
    stock_glasses(session, world)
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    with pytest.raises(errors.UnknownSerial):
        inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    session.rollback()
    assert on_hand(session, world["a"], world["glasses"]) == 2


def test_return_brings_the_sold_serial_back(session, world):
    stock_glasses(session, world)
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    inventory.record_return(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    assert session.get(SerialUnit, "SN1", populate_existing=True).state == "in_stock"
    assert on_hand(session, world["a"], world["glasses"]) == 3


def test_duplicate_serial_on_receipt_is_refused(session, world):
    stock_glasses(session, world)
    with pytest.raises(errors.DuplicateSerial):
        inventory.receive_purchase(session, location_id=world["b"].id, sku="RK-MAX2-BLK", quantity=1,
                                   serials=["SN1"])
    session.rollback()
    assert on_hand(session, world["b"], world["glasses"]) == 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_refuses_quantities_that_are_not_positive_whole_numbers(session, world, bad):
    with pytest.raises(errors.InvalidQuantity):
        inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=bad)


def test_count_adjusts_by_the_difference_and_is_audited(session, world):
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=5)
    movement = inventory.adjust_count(session, location_id=world["a"].id, sku="RK-CASE", counted=3,
                                      reason="stock count", actor_id=world["staff"].id)
    assert movement.quantity == -2 and on_hand(session, world["a"], world["case"]) == 3
    assert inventory.adjust_count(session, location_id=world["a"].id, sku="RK-CASE", counted=3,
                                  reason="recount") is None
    audit = session.execute(select(AuditLog)).scalars().one()
    assert audit.action == "stock.count_adjusted" and audit.detail["delta"] == -2


def test_demo_units_leave_sellable_stock(session, world):
    stock_glasses(session, world)
    inventory.move_demo(session, store_id=world["a"].id, sku="RK-MAX2-BLK", quantity=1, to_display=True,
                        serials=["SN3"])
    balance = session.get(StockBalance, (world["a"].id, world["glasses"].id), populate_existing=True)
    assert (balance.on_hand, balance.demo) == (2, 1)
    with pytest.raises(errors.UnknownSerial):  # a demo unit cannot be sold as new
        inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN3"])
    session.rollback()
    inventory.move_demo(session, store_id=world["a"].id, sku="RK-MAX2-BLK", quantity=1, to_display=False,
                        serials=["SN3"])
    balance = session.get(StockBalance, (world["a"].id, world["glasses"].id), populate_existing=True)
    assert (balance.on_hand, balance.demo) == (3, 0)


def test_transfer_goes_through_transit_and_records_a_discrepancy(session, world):
    inventory.receive_purchase(session, location_id=world["dc"].id, sku="RK-CASE", quantity=10)
    stock_glasses(session, world)
    shipment = shipments.ship(session, from_location_id=world["a"].id, to_location_id=world["b"].id,
                              reference="SH-1", lines=[shipments.Line("RK-MAX2-BLK", 2, ("SN1", "SN2"))])
    b = session.get(StockBalance, (world["b"].id, world["glasses"].id), populate_existing=True)
    assert (b.on_hand, b.in_transit) == (0, 2)
    assert session.get(SerialUnit, "SN1", populate_existing=True).state == "in_transit"
    shipments.receive(session, shipment_id=shipment.id, received={"RK-MAX2-BLK": 1})
    b = session.get(StockBalance, (world["b"].id, world["glasses"].id), populate_existing=True)
    assert (b.on_hand, b.in_transit) == (1, 0)
    assert session.execute(select(AuditLog.action)).scalar_one() == "shipment.discrepancy"
    with pytest.raises(errors.ShipmentClosed):
        shipments.receive(session, shipment_id=shipment.id, received={})


def test_suspended_store_cannot_sell(session, world):
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=1)
    world["a"].status = "suspended"
    session.commit()
    with pytest.raises(errors.LocationInactive):
        inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE")
