"""Transfer requests between stores, answered: the origin ships (a shipment TR-<id>) or declines with a
reason, the requesting store may cancel while the request is open; one decision wins, on SQLite and
PostgreSQL."""
from __future__ import annotations

import time
from functools import partial

import pytest
from sqlalchemy import func, select, update

from retail import errors
from retail.db import new_session
from retail.models import (
    AuditLog,
    Location,
    Movement,
    SerialUnit,
    Shipment,
    StockBalance,
    TransferRequest,
    User,
)
from retail.services import deliveries, transfers
from tests.committing import inventory
from tests.factories import on_the_mainland, small_world
from tests.racing import race as _race


def build_world(session) -> dict:
    """small_world plus staff of B, a third store C with its staff, a planner; stock at B to be asked for."""
    world = small_world(session)
    on_the_mainland(session, world["b"])  # store to store stays on one side of the border
    c = Location(code="S0003", name="深圳南山店", city="Shenzhen", province="Guangdong", city_tier=1,
                 partnership="franchise", dc_id=world["dc"].id)
    session.add(c)
    session.flush()
    people = {"staff_b": User(email="staff@b.example.com", name="B staff", role="store_staff", store_id=world["b"].id),
              "staff_c": User(email="staff@c.example.com", name="C staff", role="store_staff", store_id=c.id),
              "planner": User(email="planner@example.com", name="Planner", role="planner")}
    session.add_all(people.values())
    session.commit()
    world.update(people, c=c)
    inventory.receive_purchase(session, location_id=world["b"].id, sku="RK-MAX2-BLK", quantity=2,
                               serials=["SN-B1", "SN-B2"], reference="PO-B")
    inventory.receive_purchase(session, location_id=world["b"].id, sku="RK-CASE", quantity=3, reference="PO-B2")
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-MAX2-BLK", quantity=1,
                               serials=["SN-A1"], reference="PO-A")
    return world


@pytest.fixture
def world(session):
    return build_world(session)


def ask(session, world, sku="RK-MAX2-BLK", quantity=1) -> TransferRequest:
    """Store A asks store B (S0002)."""
    return transfers.request_transfer(session, world["staff"], store_id=world["a"].id, from_store_code="S0002", sku=sku,
                                     quantity=quantity)


def balance(session, location, product) -> StockBalance:
    return session.get(StockBalance, (location.id, product.id), populate_existing=True)


def count(session, model, *where) -> int:
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def fresh(session, transfer) -> TransferRequest:
    return session.get(TransferRequest, transfer.id, populate_existing=True)


def test_origin_ships_a_serialised_request_and_the_requester_receives_it(session, world):
    request = ask(session, world)
    shipped = transfers.ship_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id,
                                     serials="SN-B2")
    assert (shipped.status, shipped.acted_by) == ("shipped", world["staff_b"].id)
    assert shipped.acted_at is not None and shipped.decline_reason is None
    shipment = session.get(Shipment, shipped.shipment_id)
    assert (shipment.reference, shipment.from_location_id, shipment.to_location_id, shipment.status) == (
        f"TR-{request.id}", world["b"].id, world["a"].id, "in_transit")
    assert balance(session, world["b"], world["glasses"]).on_hand == 1
    assert balance(session, world["a"], world["glasses"]).in_transit == 1
    unit = session.get(SerialUnit, "SN-B2", populate_existing=True)
    assert (unit.location_id, unit.state) == (world["a"].id, "in_transit")
    audit = session.execute(select(AuditLog).where(AuditLog.action == "transfer.shipped")).scalar_one()
    assert (audit.entity, audit.entity_id, audit.actor_id) == ("transfer_request", str(request.id), world["staff_b"].id)
    assert audit.detail == {"shipment": f"TR-{request.id}", "sku": "RK-MAX2-BLK", "quantity": 1, "serials": ["SN-B2"]}
    # The requesting store finds it among its deliveries, like any shipment, and receives it there.
    open_ = deliveries.open_deliveries(session, store_id=world["a"].id)
    assert [(d.reference, d.origin, d.units) for d in open_] == [(f"TR-{request.id}", "S0002", 1)]
    deliveries.receive(session, world["staff"], store_id=world["a"].id, shipment_id=shipment.id, received={})
    glasses = balance(session, world["a"], world["glasses"])
    assert (glasses.on_hand, glasses.in_transit) == (2, 0)
    assert session.get(SerialUnit, "SN-B2", populate_existing=True).state == "in_stock"


def test_a_retried_ship_writes_once_and_is_refused(session, world):
    request = ask(session, world, sku="RK-CASE", quantity=2)
    transfers.ship_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id)
    with pytest.raises(errors.TransferClosed) as refused:
        transfers.ship_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id)
    assert refused.value.params == {"transfer": request.id, "status": "shipped"}
    assert count(session, Shipment, Shipment.reference == f"TR-{request.id}") == 1
    assert count(session, Movement, Movement.kind == "transfer_out") == 1
    assert count(session, AuditLog, AuditLog.action == "transfer.shipped") == 1
    assert balance(session, world["b"], world["case"]).on_hand == 1
    assert balance(session, world["a"], world["case"]).in_transit == 2


def test_the_shipment_reference_alone_also_refuses_a_second_shipment(session, world):
    """Belt and braces: were the status ever put back, the unique reference TR-<id> still refuses."""
    request = ask(session, world, sku="RK-CASE")
    transfers.ship_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id)
    session.execute(update(TransferRequest).where(TransferRequest.id == request.id).values(status="requested"))
    session.commit()
    with pytest.raises(errors.DuplicateReference):
        transfers.ship_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id)
    assert fresh(session, request).status == "requested"  # rolled back whole
    assert count(session, Shipment, Shipment.reference == f"TR-{request.id}") == 1
    assert balance(session, world["b"], world["case"]).on_hand == 2


def test_stock_gone_by_ship_time_refuses_the_ship_and_changes_nothing(session, world):
    request = ask(session, world, sku="RK-CASE", quantity=3)
    inventory.record_sale(session, store_id=world["b"].id, sku="RK-CASE", quantity=2)  # sold in the meantime
    with pytest.raises(errors.InsufficientStock) as refused:
        transfers.ship_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id)
    assert refused.value.params == {"sku": "RK-CASE", "location": "S0002", "available": 1, "requested": 3}
    request = fresh(session, request)
    assert (request.status, request.shipment_id, request.acted_by, request.acted_at) == ("requested", None, None, None)
    assert count(session, Shipment) == 0 and count(session, AuditLog, AuditLog.entity == "transfer_request") == 0
    assert balance(session, world["b"], world["case"]).on_hand == 1
    # Still open: the origin can decline it now.
    transfers.decline_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id, reason="sold out")
    assert fresh(session, request).status == "declined"


def test_a_serialised_ship_needs_the_units_scanned_at_the_origin(session, world):
    request = ask(session, world, quantity=2)
    cases = [("", errors.SerialsRequired), ("SN-B1", errors.SerialsRequired), ("SN-B1 SN-B1", errors.SerialsRequired),
             ("SN-B1, SN-A1", errors.UnknownSerial), ("SN-B1 NOPE", errors.UnknownSerial)]
    for serials, refusal in cases:
        with pytest.raises(refusal):
            transfers.ship_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id, serials=serials)
        assert fresh(session, request).status == "requested", serials
    assert session.get(SerialUnit, "SN-B1", populate_existing=True).state == "in_stock"
    assert count(session, Shipment) == 0
    transfers.ship_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id, serials=["SN-B2", "SN-B1"])
    assert balance(session, world["b"], world["glasses"]).on_hand == 0


def test_decline_needs_a_reason_keeps_it_and_closes_the_request(session, world):
    request = ask(session, world)
    with pytest.raises(errors.MissingValue):
        transfers.decline_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id, reason="  ")
    assert fresh(session, request).status == "requested"
    declined = transfers.decline_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id,
                                         reason="display units only")
    assert (declined.status, declined.decline_reason, declined.acted_by) == (
        "declined", "display units only", world["staff_b"].id)
    audit = session.execute(select(AuditLog).where(AuditLog.action == "transfer.declined")).scalar_one()
    assert audit.detail == {"reason": "display units only"}
    with pytest.raises(errors.TransferClosed) as shipped:
        transfers.ship_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id, serials="SN-B1")
    assert shipped.value.params["status"] == "declined"
    with pytest.raises(errors.TransferClosed):
        transfers.cancel_transfer(session, world["staff"], store_id=world["a"].id, transfer_id=request.id)
    assert count(session, Shipment) == 0 and balance(session, world["b"], world["glasses"]).on_hand == 2


def test_requester_cancels_while_requested_then_nobody_can_ship(session, world):
    request = ask(session, world)
    cancelled = transfers.cancel_transfer(session, world["staff"], store_id=world["a"].id, transfer_id=request.id)
    assert (cancelled.status, cancelled.acted_by) == ("cancelled", world["staff"].id)
    assert count(session, AuditLog, AuditLog.action == "transfer.cancelled") == 1
    with pytest.raises(errors.TransferClosed) as refused:
        transfers.ship_transfer(session, world["staff_b"], store_id=world["b"].id, transfer_id=request.id, serials="SN-B1")
    assert refused.value.params["status"] == "cancelled"
    with pytest.raises(errors.TransferClosed):  # cancelling twice is refused too, and audited once
        transfers.cancel_transfer(session, world["staff"], store_id=world["a"].id, transfer_id=request.id)
    assert count(session, AuditLog, AuditLog.action == "transfer.cancelled") == 1
    assert count(session, Shipment) == 0 and balance(session, world["b"], world["glasses"]).on_hand == 2


def test_only_the_origin_ships_or_declines_and_only_the_requester_cancels(session, world):
    request = ask(session, world)
    a, b, c = world["a"].id, world["b"].id, world["c"].id
    refusals = [
        # the requester may not ship or decline its own request, the origin may not cancel it
        (lambda: transfers.ship_transfer(session, world["staff"], store_id=a, transfer_id=request.id, serials="SN-A1"), errors.Forbidden),
        (lambda: transfers.decline_transfer(session, world["staff"], store_id=a, transfer_id=request.id, reason="x"), errors.Forbidden),
        (lambda: transfers.cancel_transfer(session, world["staff_b"], store_id=b, transfer_id=request.id), errors.Forbidden),
        # a third store does not see it through its own store, and may not act as another store
        (lambda: transfers.ship_transfer(session, world["staff_c"], store_id=c, transfer_id=request.id, serials="SN-B1"), errors.NotFound),
        (lambda: transfers.cancel_transfer(session, world["staff_c"], store_id=c, transfer_id=request.id), errors.NotFound),
        (lambda: transfers.ship_transfer(session, world["staff_c"], store_id=b, transfer_id=request.id, serials="SN-B1"), errors.Forbidden),
        (lambda: transfers.cancel_transfer(session, world["staff_c"], store_id=a, transfer_id=request.id), errors.Forbidden),
        (lambda: transfers.decline_transfer(session, world["staff"], store_id=b, transfer_id=request.id, reason="x"), errors.Forbidden),
        (lambda: transfers.ship_transfer(session, world["staff_b"], store_id=b, transfer_id=99999),
         errors.NotFound),
    ]
    for act, refusal in refusals:
        with pytest.raises(refusal):
            act()
        assert fresh(session, request).status == "requested"
    assert count(session, AuditLog, AuditLog.entity == "transfer_request") == 0
    # A planner may act for the origin store, as on every store page.
    transfers.decline_transfer(session, world["planner"], store_id=b, transfer_id=request.id, reason="rebalanced from DC")
    assert fresh(session, request).acted_by == world["planner"].id


def test_request_lists_put_open_requests_first_for_each_side(session, world):
    first = ask(session, world, sku="RK-CASE")
    second = ask(session, world, sku="RK-CASE")
    transfers.cancel_transfer(session, world["staff"], store_id=world["a"].id, transfer_id=second.id)
    outgoing = transfers.requests(session, store_id=world["a"].id, incoming=False)
    assert [(t.id, t.status, code) for t, _p, code, _n in outgoing] == [(first.id, "requested", "S0002"),
                                                                       (second.id, "cancelled", "S0002")]
    incoming = transfers.requests(session, store_id=world["b"].id, incoming=True)
    assert [(t.id, code) for t, _p, code, _n in incoming] == [(first.id, "S0001"), (second.id, "S0001")]
    assert transfers.requests(session, store_id=world["a"].id, incoming=True) == []
    with pytest.raises(errors.NotFound):
        transfers.detail(session, store_id=world["c"].id, transfer_id=first.id)
    detail = transfers.detail(session, store_id=world["b"].id, transfer_id=first.id)
    assert (detail.incoming, detail.on_hand_at_origin, detail.origin.code, detail.destination.code) == (
        True, 3, "S0002", "S0001")


# Concurrency: two decisions on one request at the same moment, from two connections.
ROUNDS = 8
BOTH = [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"]


@pytest.fixture
def race_world(engine):
    with new_session(engine) as s:
        world = build_world(s)
        inventory.receive_purchase(s, location_id=world["b"].id, sku="RK-CASE", quantity=ROUNDS * 2, reference="PO-X")
        return {k: v.id for k, v in world.items()}


def _new_request(engine, ids) -> int:
    with new_session(engine) as s:
        return transfers.request_transfer(s, s.get(User, ids["staff"]), store_id=ids["a"], from_store_code="S0002", sku="RK-CASE", quantity=1).id


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_ship_and_cancel_at_the_same_moment_exactly_one_wins(engine, race_world):
    ids = race_world
    for _ in range(ROUNDS):
        tid = _new_request(engine, ids)
        outcomes = _race(
            engine,
            partial(transfers.ship_transfer, store_id=ids["b"], transfer_id=tid, actor_id=ids["staff_b"]),
            partial(transfers.cancel_transfer, store_id=ids["a"], transfer_id=tid, actor_id=ids["staff"]))
        assert sorted(outcomes) == ["ok", "transfer_closed"], outcomes
        with new_session(engine) as s:
            request = s.get(TransferRequest, tid)
            shipment = s.execute(select(Shipment).where(Shipment.reference == f"TR-{tid}")).scalars().first()
            audits = count(s, AuditLog, AuditLog.entity == "transfer_request", AuditLog.entity_id == str(tid))
            if outcomes[0] == "ok":
                assert request.status == "shipped" and shipment is not None and request.shipment_id == shipment.id
            else:
                assert request.status == "cancelled" and shipment is None and request.shipment_id is None
            assert audits == 1
    with new_session(engine) as s:
        shipped = count(s, TransferRequest, TransferRequest.status == "shipped")
        moved = -s.execute(select(func.coalesce(func.sum(Movement.quantity), 0)).where(
            Movement.kind == "transfer_out")).scalar_one()
        assert moved == shipped  # every unit that left belongs to a shipped request, once
        assert s.get(StockBalance, (ids["b"], ids["case"])).on_hand == 3 + ROUNDS * 2 - shipped


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_two_ships_at_the_same_moment_send_the_units_once(engine, race_world):
    ids = race_world
    for _ in range(ROUNDS):
        tid = _new_request(engine, ids)
        ship = partial(transfers.ship_transfer, store_id=ids["b"], transfer_id=tid, actor_id=ids["staff_b"])
        outcomes = _race(engine, ship, ship)
        assert sorted(outcomes) == ["ok", "transfer_closed"], outcomes
    with new_session(engine) as s:
        assert count(s, Shipment, Shipment.reference.like("TR-%")) == ROUNDS
        assert count(s, Movement, Movement.kind == "transfer_out") == ROUNDS
        assert count(s, AuditLog, AuditLog.action == "transfer.shipped") == ROUNDS
        assert s.get(StockBalance, (ids["b"], ids["case"])).on_hand == 3 + ROUNDS * 2 - ROUNDS


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_negative_control_a_status_read_then_unconditional_write_lets_both_win(engine, race_world):
    """The same race with a naive check-then-write: both decisions succeed, so the races above can fail."""
    ids = race_world
    tid = _new_request(engine, ids)

    def naive(status):
        def act(s):
            if s.get(TransferRequest, tid).status != "requested":
                raise errors.TransferClosed(transfer=tid, status="?")
            time.sleep(0.05)  # the window between reading the status and writing it
            s.execute(update(TransferRequest).where(TransferRequest.id == tid).values(status=status))
            s.commit()
        return act

    assert _race(engine, naive("shipped"), naive("cancelled")) == ["ok", "ok"]


def test_a_request_across_the_border_is_refused_and_writes_nothing(session):
    """Shanghai (S0001) may not ask Hong Kong (S0002, the small world's store B) store to store, nor the
    reverse: stock does not cross the border between the mainland and Hong Kong that way."""
    world = small_world(session)
    inventory.receive_purchase(session, location_id=world["b"].id, sku="RK-CASE", quantity=3)
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=3)
    hong_kong_staff = User(email="staff@b.example.com", name="B staff", role="store_staff", store_id=world["b"].id)
    session.add(hong_kong_staff)
    session.commit()
    with pytest.raises(errors.TransferAcrossBorder) as refused:
        transfers.request_transfer(session, world["staff"], store_id=world["a"].id, from_store_code="S0002",
                                   sku="RK-CASE", quantity=1)
    assert refused.value.params == {"origin": "S0002", "destination": "S0001"}
    with pytest.raises(errors.TransferAcrossBorder):
        transfers.request_transfer(session, hong_kong_staff, store_id=world["b"].id, from_store_code="S0001",
                                   sku="RK-CASE", quantity=1)
    assert session.execute(select(func.count()).select_from(TransferRequest)).scalar_one() == 0
