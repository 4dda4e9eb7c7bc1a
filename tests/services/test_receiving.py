"""Receiving is bounded by what was shipped (issue 10, item 5), on SQLite and PostgreSQL.

- a received quantity is a bounded number (`parsing.count`): 10^12 is refused, nothing written;
- units counted beyond the shipped quantity are held on the line as a surplus, not posted as stock,
  until the store's manager, a planner or an admin accepts them (a transfer_in) or refuses them;
- a serialised line goes into stock by the serials scanned on arrival: exactly those; a serial that was
  not shipped on that line is refused with nothing written; shipped units not scanned stay in transit,
  missing, recorded on the line and in the audit; a count alone does not say which units arrived.

After each: on hand of the serialised SKU equals its serial units in stock, at every location.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.db import new_session
from retail.models import (
    AuditLog,
    Movement,
    MovementSerial,
    SerialUnit,
    Shipment,
    ShipmentLine,
    StockBalance,
    User,
)
from retail.services import deliveries
from tests.committing import inventory, shipments
from tests.factories import small_world


@pytest.fixture
def world(session):
    w = small_world(session)
    people = {"manager": User(email="manager@a.example.com", name="A manager", role="store_manager",
                              store_id=w["a"].id),
              "planner": User(email="planner@example.com", name="Planner", role="planner")}
    session.add_all(people.values())
    session.commit()
    w.update(people)
    dc = w["dc"].id
    inventory.receive_purchase(session, location_id=dc, sku="RK-MAX2-BLK", quantity=4,
                               serials=["SN1", "SN2", "SN3", "SN4"], reference="PO-D")
    inventory.receive_purchase(session, location_id=dc, sku="RK-CASE", quantity=20, reference="PO-D2")
    inventory.receive_purchase(session, location_id=w["a"].id, sku="RK-MAX2-BLK", quantity=1, serials=["SN-A1"],
                               reference="PO-A")
    w["one"] = shipments.ship(session, from_location_id=dc, to_location_id=w["a"].id, reference="SH-ONE",
                              lines=[shipments.Line("RK-MAX2-BLK", 1, ("SN4",))])
    w["three"] = shipments.ship(session, from_location_id=dc, to_location_id=w["a"].id, reference="SH-3",
                                lines=[shipments.Line("RK-MAX2-BLK", 3, ("SN1", "SN2", "SN3")),
                                       shipments.Line("RK-CASE", 4)])
    return w


def balance(session, world, store: str, product: str) -> tuple[int, int]:
    b = session.get(StockBalance, (world[store].id, world[product].id), populate_existing=True)
    return (b.on_hand, b.in_transit) if b else (0, 0)


def state(session, serial: str) -> str:
    return session.get(SerialUnit, serial, populate_existing=True).state


def written(session) -> tuple[int, int]:
    return (session.execute(select(func.count()).select_from(Movement)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditLog)).scalar_one())


def line_of(session, shipment, product) -> ShipmentLine:
    return session.execute(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment.id,
                                                      ShipmentLine.product_id == product.id)
                           .execution_options(populate_existing=True)).scalar_one()


def assert_serial_ledger(session, world) -> None:
    """The ledger invariant: on hand of a serialised SKU equals its serial units in stock, everywhere."""
    for where in ("a", "b", "dc"):
        in_stock = session.execute(select(func.count()).select_from(SerialUnit).where(
            SerialUnit.location_id == world[where].id, SerialUnit.product_id == world["glasses"].id,
            SerialUnit.state == "in_stock")).scalar_one()
        assert balance(session, world, where, "glasses")[0] == in_stock, where


def receive(session, world, shipment, *, received=None, serials=None):
    scans = {} if serials is None else {"serials": serials}  # None: a caller without a scan box
    return deliveries.receive(session, world["staff"], store_id=world["a"].id, shipment_id=shipment.id,
                              received=received or {}, **scans)


@pytest.mark.parametrize("serials", [None, {"RK-MAX2-BLK": ["SN4"]}], ids=["count only", "with the scan"])
def test_a_trillion_units_of_one_serialised_unit_is_refused(session, world, serials):
    """The attack: `received-<SKU>=1000000000000` on a delivery of one serialised unit was accepted, and on
    hand became 1,000,000,000,001 with one serial unit behind it."""
    before = written(session)
    with pytest.raises(errors.InvalidQuantity):
        receive(session, world, world["one"], received={"RK-MAX2-BLK": 10 ** 12}, serials=serials)
    assert written(session) == before
    assert session.get(Shipment, world["one"].id, populate_existing=True).status == "in_transit"
    assert balance(session, world, "a", "glasses") == (1, 4)
    assert state(session, "SN4") == "in_transit"
    assert_serial_ledger(session, world)


def test_more_serialised_units_than_shipped_are_refused_without_their_scans(session, world):
    """Within the parser's bound, a count above the shipped quantity of a serialised line is still refused:
    a unit that was not shipped has no serial in the register, so it cannot become stock."""
    for counted in (2, 100_000):
        with pytest.raises(errors.ScanArrivedSerials):
            receive(session, world, world["one"], received={"RK-MAX2-BLK": counted})
        with pytest.raises(errors.ScanArrivedSerials):
            receive(session, world, world["one"], received={"RK-MAX2-BLK": counted}, serials={"RK-MAX2-BLK": ["SN4"]})
    assert balance(session, world, "a", "glasses") == (1, 4)
    assert_serial_ledger(session, world)


def test_a_surplus_is_held_not_posted_until_a_manager_accepts_it(session, world):
    before_movements = written(session)[0]
    receive(session, world, world["three"], received={"RK-CASE": 10}, serials={"RK-MAX2-BLK": ["SN1", "SN2", "SN3"]})
    assert balance(session, world, "a", "case") == (4, 0)  # the 4 shipped, not the 10 counted
    line = line_of(session, world["three"], world["case"])
    assert (line.received_quantity, line.surplus, line.surplus_status) == (4, 6, "held")
    receipts = session.execute(select(Movement.quantity).where(Movement.kind == "transfer_in",
                                                              Movement.product_id == world["case"].id)).scalars().all()
    assert receipts == [4] and written(session)[0] == before_movements + 2
    audit = session.execute(select(AuditLog).where(AuditLog.action == "shipment.discrepancy")).scalar_one()
    assert audit.detail == {"RK-CASE": {"shipped": 4, "received": 4, "surplus_held": 6}}
    held = deliveries.held_surpluses(session, store_id=world["a"].id)
    assert [(h.reference, h.sku, h.shipped, h.surplus) for h in held] == [("SH-3", "RK-CASE", 4, 6)]
    # Not the staff who counted it; the store's manager (or a planner, or an admin), once.
    with pytest.raises(errors.Forbidden):
        deliveries.decide_surplus(session, world["staff"], store_id=world["a"].id, shipment_id=world["three"].id,
                                  sku="RK-CASE", accept=True)
    assert balance(session, world, "a", "case") == (4, 0)
    deliveries.decide_surplus(session, world["manager"], store_id=world["a"].id, shipment_id=world["three"].id,
                              sku="RK-CASE", accept=True)
    assert balance(session, world, "a", "case") == (10, 0)
    assert line_of(session, world["three"], world["case"]).surplus_status == "accepted"
    with pytest.raises(errors.SurplusDecided):
        deliveries.decide_surplus(session, world["planner"], store_id=world["a"].id, shipment_id=world["three"].id,
                                  sku="RK-CASE", accept=True)
    assert balance(session, world, "a", "case") == (10, 0)
    assert session.execute(select(AuditLog.detail).where(AuditLog.action == "shipment.surplus_accepted")
                           ).scalar_one() == {"sku": "RK-CASE", "surplus": 6}
    assert deliveries.held_surpluses(session, store_id=world["a"].id) == []
    assert_serial_ledger(session, world)


def test_a_refused_surplus_stays_a_discrepancy(session, world):
    receive(session, world, world["three"], received={"RK-CASE": 5}, serials={"RK-MAX2-BLK": ["SN1", "SN2", "SN3"]})
    deliveries.decide_surplus(session, world["planner"], store_id=world["a"].id, shipment_id=world["three"].id,
                              sku="RK-CASE", accept=False)
    line = line_of(session, world["three"], world["case"])
    assert (line.received_quantity, line.surplus, line.surplus_status) == (4, 1, "refused")
    assert balance(session, world, "a", "case") == (4, 0)
    with pytest.raises(errors.SurplusDecided):
        deliveries.decide_surplus(session, world["manager"], store_id=world["a"].id, shipment_id=world["three"].id,
                                  sku="RK-CASE", accept=True)
    assert balance(session, world, "a", "case") == (4, 0)


def test_the_scanned_serials_are_exactly_the_ones_in_stock(session, world):
    """Before: the first `got` serials of the line went into stock, whichever had arrived."""
    receive(session, world, world["three"], received={"RK-MAX2-BLK": 2}, serials={"RK-MAX2-BLK": ["SN3", "SN2"]})
    assert (state(session, "SN1"), state(session, "SN2"), state(session, "SN3")) == ("in_transit", "in_stock",
                                                                                    "in_stock")
    line = line_of(session, world["three"], world["glasses"])
    assert (line.received_quantity, line.received_serials) == (2, ["SN2", "SN3"])
    moved = session.execute(select(MovementSerial.serial).join(Movement, Movement.id == MovementSerial.movement_id)
                            .where(Movement.kind == "transfer_in").order_by(MovementSerial.serial)).scalars().all()
    assert moved == ["SN2", "SN3"]
    assert balance(session, world, "a", "glasses") == (3, 1)  # SN-A1 + the two scanned; SH-ONE still on its way
    audit = session.execute(select(AuditLog).where(AuditLog.action == "shipment.discrepancy")).scalar_one()
    assert audit.detail["RK-MAX2-BLK"] == {"shipped": 3, "received": 2, "missing": ["SN1"]}
    assert_serial_ledger(session, world)


@pytest.mark.parametrize("foreign", ["SN-A1", "SN4", "NO-SUCH-UNIT"], ids=["in stock here", "on another delivery",
                                                                          "unknown"])
def test_a_serial_not_shipped_on_the_line_is_refused_with_nothing_written(session, world, foreign):
    before = written(session)
    with pytest.raises(errors.SerialNotShipped) as refused:
        receive(session, world, world["three"], serials={"RK-MAX2-BLK": ["SN1", foreign, "SN2"]})
    assert refused.value.params == {"serial": foreign, "sku": "RK-MAX2-BLK", "reference": "SH-3"}
    assert written(session) == before
    assert session.get(Shipment, world["three"].id, populate_existing=True).status == "in_transit"
    assert {s: state(session, s) for s in ("SN1", "SN2", "SN3", "SN4", "SN-A1")} == {
        "SN1": "in_transit", "SN2": "in_transit", "SN3": "in_transit", "SN4": "in_transit", "SN-A1": "in_stock"}
    assert balance(session, world, "a", "glasses") == (1, 4)
    assert line_of(session, world["three"], world["glasses"]).received_quantity is None
    with pytest.raises(errors.SerialNotShipped):  # a serial scanned on a line without serials, too
        receive(session, world, world["three"], serials={"RK-CASE": ["SN1"]})
    assert written(session) == before
    assert_serial_ledger(session, world)


def test_a_missing_unit_stays_in_transit(session, world):
    receive(session, world, world["one"], received={"RK-MAX2-BLK": 0}, serials={"RK-MAX2-BLK": []})
    assert state(session, "SN4") == "in_transit"
    line = line_of(session, world["one"], world["glasses"])
    assert (line.received_quantity, line.received_serials) == (0, [])
    assert balance(session, world, "a", "glasses") == (1, 3)  # the balance's in-transit clears, as before
    assert session.execute(select(AuditLog.detail).where(AuditLog.action == "shipment.discrepancy")).scalar_one() == {
        "RK-MAX2-BLK": {"shipped": 1, "received": 0, "missing": ["SN4"]}}
    assert_serial_ledger(session, world)


@pytest.mark.parametrize("received, serials", [
    ({"RK-MAX2-BLK": 2}, None),                                  # the old "first 2 serials" receipt
    ({"RK-MAX2-BLK": 2}, {"RK-MAX2-BLK": []}),                   # a count alone, with a scan box
    ({}, {"RK-MAX2-BLK": []}),                                   # nothing scanned, nothing counted
    ({"RK-MAX2-BLK": 2}, {"RK-MAX2-BLK": ["SN1"]}),              # the count and the scans disagree
], ids=["count without scan box", "count without scans", "empty scan box", "count disagrees with scans"])
def test_a_serialised_line_is_received_by_its_scans(session, world, received, serials):
    before = written(session)
    with pytest.raises(errors.ScanArrivedSerials):
        receive(session, world, world["three"], received=received, serials=serials)
    assert written(session) == before
    assert session.get(Shipment, world["three"].id, populate_existing=True).status == "in_transit"
    assert_serial_ledger(session, world)


def test_without_a_scan_box_a_whole_line_still_arrives(session, world):
    """Callers without a scan box (a replenishment order received whole, the API): a serialised line left
    out, or counted as shipped, arrives whole; that is the only count they can give besides 0."""
    receive(session, world, world["three"], received={"RK-MAX2-BLK": 3})
    assert [state(session, s) for s in ("SN1", "SN2", "SN3")] == ["in_stock"] * 3
    assert balance(session, world, "a", "glasses") == (4, 1)
    assert session.execute(select(AuditLog)).first() is None
    assert_serial_ledger(session, world)


def test_a_sku_not_on_the_delivery_is_refused(session, world):
    with pytest.raises(errors.NotOnShipment):
        receive(session, world, world["one"], received={"RK-CASE": 3})
    with pytest.raises(errors.NotOnShipment):
        receive(session, world, world["one"], received={}, serials={"RK-CASE": ["X"]})
    assert session.get(Shipment, world["one"].id, populate_existing=True).status == "in_transit"


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"],
                         indirect=True)
def test_concurrent_acceptances_post_a_surplus_once(engine, session, world):
    receive(session, world, world["three"], received={"RK-CASE": 7}, serials={"RK-MAX2-BLK": ["SN1", "SN2", "SN3"]})
    deciders = 8
    barrier = threading.Barrier(deciders)
    manager_id, store_id, shipment_id = world["manager"].id, world["a"].id, world["three"].id

    def decide(_):
        with new_session(engine) as own:
            barrier.wait()
            try:
                deliveries.decide_surplus(own, own.get(User, manager_id), store_id=store_id, shipment_id=shipment_id,
                                          sku="RK-CASE", accept=True)
                return "accepted"
            except errors.SurplusDecided:
                return "refused"

    with ThreadPoolExecutor(deciders) as pool:
        outcomes = list(pool.map(decide, range(deciders)))
    assert outcomes.count("accepted") == 1 and outcomes.count("refused") == deciders - 1
    assert balance(session, world, "a", "case") == (7, 0)
    assert session.execute(select(func.count()).select_from(Movement).where(
        Movement.note == "surplus accepted")).scalar_one() == 1
