"""The stock ledger's verbs, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.models import AuditLog, Movement, MovementSerial, SerialUnit, StockBalance
from tests.committing import inventory, shipments, stock
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
    [movement] = inventory.adjust_count(session, location_id=world["a"].id, sku="RK-CASE", counted=3,
                                        reason="stock count", actor_id=world["staff"].id)
    assert movement.quantity == -2 and on_hand(session, world["a"], world["case"]) == 3
    assert inventory.adjust_count(session, location_id=world["a"].id, sku="RK-CASE", counted=3,
                                  reason="recount") == []
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
    shipments.receive(session, shipment_id=shipment.id, received={"RK-MAX2-BLK": 1}, serials={"RK-MAX2-BLK": ["SN1"]})
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


# Returns by serial come back only to the store that sold the unit (whatever adapter takes them).

def test_a_serial_sold_at_another_store_cannot_be_returned_here(session, world):
    stock_glasses(session, world)
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    with pytest.raises(errors.SerialNotHere) as refused:
        inventory.record_return(session, store_id=world["b"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    session.rollback()
    assert refused.value.code == "serial_not_here"
    assert refused.value.params == {"serial": "SN1"}  # where it was sold is not told
    assert session.get(SerialUnit, "SN1", populate_existing=True).state == "sold"
    assert on_hand(session, world["b"], world["glasses"]) == 0
    assert session.execute(select(func.count()).select_from(Movement).where(Movement.kind == "return")).scalar() == 0
    inventory.record_return(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    assert on_hand(session, world["a"], world["glasses"]) == 3


def test_the_latest_sale_of_a_serial_decides_where_it_comes_back(session, world):
    stock_glasses(session, world)
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    inventory.record_return(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    shipment = shipments.ship(session, from_location_id=world["a"].id, to_location_id=world["b"].id,
                              reference="SH-1", lines=[shipments.Line("RK-MAX2-BLK", 1, ("SN1",))])
    shipments.receive(session, shipment_id=shipment.id, received={"RK-MAX2-BLK": 1}, serials={"RK-MAX2-BLK": ["SN1"]})
    inventory.record_sale(session, store_id=world["b"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    with pytest.raises(errors.SerialNotHere):  # sold at A once, but last at B
        inventory.record_return(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    session.rollback()
    inventory.record_return(session, store_id=world["b"].id, sku="RK-MAX2-BLK", serials=["SN1"])
    assert on_hand(session, world["b"], world["glasses"]) == 1


# Counts of serialised products are counts by serial.

def serial_states(session, *serials) -> dict[str, tuple[str, int | None]]:
    units = {s: session.get(SerialUnit, s, populate_existing=True) for s in serials}
    return {s: (u.state, u.location_id) for s, u in units.items()}


def in_stock_serials(session, location, product) -> int:
    return session.execute(select(func.count()).select_from(SerialUnit).where(
        SerialUnit.location_id == location.id, SerialUnit.product_id == product.id,
        SerialUnit.state == "in_stock")).scalar_one()


def test_serial_count_writes_off_the_units_not_scanned(session, world):
    stock_glasses(session, world)
    [movement] = inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK",
                                        serials=["SN3", " SN1 ", "SN1"], reason="monthly count",
                                        actor_id=world["staff"].id)
    a = world["a"].id
    assert serial_states(session, "SN1", "SN2", "SN3") == {"SN1": ("in_stock", a), "SN2": ("written_off", a),
                                                           "SN3": ("in_stock", a)}
    assert (movement.kind, movement.quantity) == ("count_adjustment", -1)
    linked = session.execute(select(MovementSerial.serial).where(MovementSerial.movement_id == movement.id))
    assert linked.scalars().all() == ["SN2"]
    assert on_hand(session, world["a"], world["glasses"]) == 2 == in_stock_serials(session, world["a"], world["glasses"])
    assert ledger_sum(session, world["a"], world["glasses"]) == 2
    audit = session.execute(select(AuditLog)).scalars().one()
    assert audit.action == "stock.count_adjusted"
    assert (audit.detail["counted"], audit.detail["delta"], audit.detail["missing"]) == (2, -1, ["SN2"])
    with pytest.raises(errors.UnknownSerial):  # a unit lost at the count is no longer sellable
        inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN2"])
    session.rollback()


def test_a_repeated_serial_count_moves_nothing(session, world):
    stock_glasses(session, world)
    for _ in range(2):
        inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"],
                               reason="count")
    assert inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK", counted=1,
                                  serials=["SN1"], reason="count") == []
    adjustments = select(func.count()).select_from(Movement).where(Movement.kind == "count_adjustment")
    assert session.execute(adjustments).scalar_one() == 1
    assert session.execute(select(func.count()).select_from(AuditLog)).scalar_one() == 1
    assert on_hand(session, world["a"], world["glasses"]) == 1


def test_scanned_serials_not_in_stock_here_refuse_the_whole_count(session, world):
    stock_glasses(session, world)
    inventory.receive_purchase(session, location_id=world["b"].id, sku="RK-MAX2-BLK", quantity=1, serials=["SN-B"])
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN3"])
    inventory.move_demo(session, store_id=world["a"].id, sku="RK-MAX2-BLK", quantity=1, to_display=True,
                        serials=["SN2"])
    with pytest.raises(errors.CountedSerialsNotHere) as refused:
        inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK",
                               serials=["SN1", "SN-B", "SN3", "SN2", "NOPE"], reason="count")
    session.rollback()
    assert refused.value.code == "counted_serials_not_here"
    assert refused.value.params["serials"] == "SN-B, SN3, SN2, NOPE"  # elsewhere, sold, on display, unknown
    assert (refused.value.params["sku"], refused.value.params["location"]) == ("RK-MAX2-BLK", "S0001")
    assert serial_states(session, "SN1", "SN2", "SN3")["SN1"] == ("in_stock", world["a"].id)
    assert on_hand(session, world["a"], world["glasses"]) == 1
    assert session.execute(select(func.count()).select_from(Movement).where(
        Movement.kind == "count_adjustment")).scalar_one() == 0


def test_serialised_count_needs_the_serials(session, world):
    stock_glasses(session, world)
    with pytest.raises(errors.SerialsRequired):
        inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK", counted=2, reason="count")
    session.rollback()
    with pytest.raises(errors.SerialsRequired) as mismatch:
        inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK", counted=3,
                               serials=["SN1", "SN2"], reason="count")
    session.rollback()
    assert mismatch.value.params == {"sku": "RK-MAX2-BLK", "quantity": 3, "given": 2}
    assert on_hand(session, world["a"], world["glasses"]) == 3
    # Nothing on the shelf: 0 without serials writes every unit off.
    [movement] = inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK", counted=0,
                                        reason="shelf empty")
    assert movement.quantity == -3 and in_stock_serials(session, world["a"], world["glasses"]) == 0
    assert on_hand(session, world["a"], world["glasses"]) == 0


def test_a_unit_lost_at_a_count_comes_back_when_a_later_count_finds_it(session, world):
    stock_glasses(session, world, serials=("SN1", "SN2", "SN3", "SN4"))
    inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN1"], reason="count")
    inventory.write_off(session, location_id=world["a"].id, sku="RK-MAX2-BLK", quantity=1, serials=["SN1"],
                        reason="broken lens")
    assert on_hand(session, world["a"], world["glasses"]) == 0
    # SN2 and SN3 turn up again; SN4 stays lost. Each state change is one movement linked to its serials.
    found = inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN2", "SN3"],
                                   reason="recount")
    assert [m.quantity for m in found] == [2]
    a = world["a"].id
    assert serial_states(session, "SN1", "SN2", "SN3", "SN4") == {
        "SN1": ("written_off", a), "SN2": ("in_stock", a), "SN3": ("in_stock", a), "SN4": ("written_off", a)}
    assert on_hand(session, world["a"], world["glasses"]) == 2 == ledger_sum(session, world["a"], world["glasses"])
    with pytest.raises(errors.CountedSerialsNotHere):  # written off as damaged: not brought back by a count
        inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK",
                               serials=["SN1", "SN2", "SN3"], reason="recount")
    session.rollback()
    # One unit lost and another found in the same count: the balance stays, both serials move.
    swapped = inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK",
                                     serials=["SN2", "SN4"], reason="recount")
    assert sorted(m.quantity for m in swapped) == [-1, 1]
    assert serial_states(session, "SN3", "SN4") == {"SN3": ("written_off", a), "SN4": ("in_stock", a)}
    assert on_hand(session, world["a"], world["glasses"]) == 2 == in_stock_serials(session, world["a"], world["glasses"])


def test_a_serial_count_brings_a_drifted_balance_back_to_the_register(session, world):
    stock_glasses(session, world)
    # A movement without serials (as the demo history's unlinked returns): the balance says 4, the register 3.
    stock.post_movement(session, location=world["a"], product=world["glasses"], kind="return", quantity=1)
    session.commit()
    movements = inventory.adjust_count(session, location_id=world["a"].id, sku="RK-MAX2-BLK",
                                       serials=["SN1", "SN2"], reason="count")
    assert sorted(m.quantity for m in movements) == [-1, -1]
    assert on_hand(session, world["a"], world["glasses"]) == 2 == in_stock_serials(session, world["a"], world["glasses"])
    assert ledger_sum(session, world["a"], world["glasses"]) == 2
