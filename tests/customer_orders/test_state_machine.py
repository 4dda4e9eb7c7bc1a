"""The customer order's state machine on SQLite and PostgreSQL: sourcing (same-city store, else DC), shipping,
arrival, hand-over as a sale, cancellation from every open state; repeated transitions act once; bounds and
other stores refused."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.models import (
    AuditLog,
    CustomerOrder,
    CustomerOrderEvent,
    Movement,
    SerialUnit,
    Shipment,
    TransferRequest,
)
from retail.services import customer_orders as co
from retail.services import sales
from tests.committing import inventory
from tests.customer_orders.world import balance, build, history, ledger_sum

SOON = date.today() + timedelta(days=3)


@pytest.fixture
def world(session):
    return build(session)


def place(session, world, **kw):
    values = dict(store_id=world["a"].id, sku="RK-MAX2-BLK", quantity=1, deposit="500", promised_date=SOON,
                  customer_ref="T-1001", contact="138 0000 0000")
    values.update(kw)
    return co.place(session, world["staff"], **values)


def count(session, model, *where) -> int:
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_same_city_store_ships_the_clerk_receives_and_hands_over(session, world):
    a, c, glasses = world["a"], world["c"], world["glasses"]
    order = place(session, world)
    assert (order.state, order.source_kind, order.source_location_id) == ("sourced", "store", c.id)
    assert (order.unit_price, order.deposit, order.currency) == (Decimal("2999.00"), Decimal("500.00"), "CNY")
    assert balance(session, c, glasses) == (3, 1, 0)  # held at the origin while it waits
    transfer = session.get(TransferRequest, order.transfer_id)
    assert (transfer.status, transfer.from_store_id, transfer.to_store_id) == ("requested", c.id, a.id)

    order = co.ship(session, world["staff_c"], store_id=c.id, order_id=order.id, serials="SN-C2")
    assert order.state == "shipped" and session.get(Shipment, order.shipment_id).reference == f"TR-{transfer.id}"
    assert balance(session, c, glasses) == (2, 0, 0) and balance(session, a, glasses) == (0, 0, 1)

    order = co.arrive(session, world["staff"], store_id=a.id, order_id=order.id, serials="SN-C2")
    assert order.state == "arrived" and order.serials == ["SN-C2"] and order.reserved_here == 1
    assert balance(session, a, glasses) == (1, 1, 0)  # on hand, held for the customer

    order = co.hand_over(session, world["staff"], store_id=a.id, order_id=order.id)
    sale = session.get(Movement, order.sale_movement_id)
    assert (order.state, sale.kind, sale.quantity, sale.unit_price, sale.currency, sale.reference) == (
        "handed_over", "sale", -1, Decimal("2999.00"), "CNY", f"CO-{order.id}")
    assert session.get(SerialUnit, "SN-C2").state == "sold"
    assert balance(session, a, glasses) == (0, 0, 0) and balance(session, c, glasses) == (2, 0, 0)
    for location in (a, c):
        assert ledger_sum(session, location.id, glasses.id) == balance(session, location, glasses)[0]
    assert history(session, order.id) == ["placed", "sourced", "shipped", "arrived", "handed_over"]
    due = session.execute(select(CustomerOrderEvent.detail).where(
        CustomerOrderEvent.order_id == order.id, CustomerOrderEvent.to_state == "handed_over")).scalar_one()
    assert due["due"] == "2499.00"  # the deposit counts toward the price
    assert (order.contact, order.address, order.customer_ref) == (None, None, "T-1001")  # erased when closed


def test_repeated_transitions_act_once(session, world):
    a, c = world["a"], world["c"]
    order = place(session, world)
    steps = [lambda: co.ship(session, world["staff_c"], store_id=c.id, order_id=order.id, serials="SN-C1"),
             lambda: co.arrive(session, world["staff"], store_id=a.id, order_id=order.id, serials="SN-C1"),
             lambda: co.hand_over(session, world["staff"], store_id=a.id, order_id=order.id)]
    for step in steps:
        first = step()
        state = first.state
        writes = (count(session, Movement), count(session, CustomerOrderEvent), count(session, AuditLog))
        again = step()
        assert again.state == state and again.id == first.id
        assert (count(session, Movement), count(session, CustomerOrderEvent), count(session, AuditLog)) == writes
    # a ship repeated after the hand-over changes nothing either; a cancel after it is refused
    writes = count(session, Movement)
    co.ship(session, world["staff_c"], store_id=c.id, order_id=order.id, serials="SN-C1")
    with pytest.raises(co.CustomerOrderClosed):
        co.cancel(session, world["staff"], store_id=a.id, order_id=order.id)
    assert count(session, Movement) == writes and session.get(CustomerOrder, order.id).state == "handed_over"


def test_the_dc_sources_when_no_store_of_the_city_can_spare_and_a_planner_ships(session, world):
    a, c, dc, glasses = world["a"], world["c"], world["dc"], world["glasses"]
    inventory.write_off(session, location_id=c.id, sku="RK-MAX2-BLK", quantity=2, serials=["SN-C1", "SN-C2"], reason="damaged")
    order = place(session, world)  # C keeps its last unit for its own shelf
    assert (order.state, order.source_kind, order.source_location_id) == ("sourced", "dc", dc.id)
    assert balance(session, dc, glasses) == (2, 1, 0) and balance(session, c, glasses) == (1, 0, 0)
    assert [r.order.id for r in co.dc_open(session)] == [order.id]
    with pytest.raises(errors.Forbidden):  # store staff do not ship from the DC
        co.ship_from_dc(session, world["staff"], order_id=order.id)
    with pytest.raises(errors.Forbidden):  # nor the ordering store as a store: the DC is not a store's to ship
        co.ship(session, world["staff"], store_id=a.id, order_id=order.id)
    with pytest.raises(errors.NotFound):  # a store with no part in it does not see it
        co.ship(session, world["staff_c"], store_id=c.id, order_id=order.id)
    order = co.ship_from_dc(session, world["planner"], order_id=order.id)
    shipment = session.get(Shipment, order.shipment_id)
    assert (order.state, shipment.reference, shipment.from_location_id) == ("shipped", f"CO-{order.id}", dc.id)
    assert balance(session, dc, glasses) == (1, 0, 0)
    serial = shipment and session.execute(select(SerialUnit.serial).where(
        SerialUnit.location_id == a.id, SerialUnit.state == "in_transit")).scalar_one()
    co.arrive(session, world["staff"], store_id=a.id, order_id=order.id, serials=serial)
    order = co.hand_over(session, world["staff"], store_id=a.id, order_id=order.id)
    assert order.state == "handed_over" and balance(session, a, glasses) == (0, 0, 0)
    assert ledger_sum(session, dc.id, glasses.id) == 1


def test_nothing_to_spare_leaves_the_order_placed_until_stock_comes(session, world):
    a, c, dc = world["a"], world["c"], world["dc"]
    order = place(session, world, quantity=5)  # C can spare 2, the DC has 2
    assert order.state == "placed" and order.source_location_id is None
    with pytest.raises(co.CustomerOrderNoSource):
        co.source(session, world["staff"], store_id=a.id, order_id=order.id)
    inventory.receive_purchase(session, location_id=dc.id, sku="RK-MAX2-BLK", quantity=3,
                               serials=["SN-D3", "SN-D4", "SN-D5"], reference="PO-DC2")
    order = co.source(session, world["staff"], store_id=a.id, order_id=order.id)
    assert (order.state, order.source_location_id) == ("sourced", dc.id)
    assert balance(session, c, world["glasses"])[1] == 0


def test_bounds_are_refused_and_write_nothing(session, world):
    a = world["a"]
    before = count(session, CustomerOrder)
    refusals = [
        (dict(quantity=6), co.CustomerOrderTooMany),
        (dict(quantity=0), errors.InvalidQuantity),
        (dict(deposit="3000"), co.CustomerOrderDeposit),  # above the price of one unit
        (dict(deposit="-1"), errors.InvalidMoney),
        (dict(deposit="1e9"), errors.InvalidMoney),
        (dict(promised_date=date.today() - timedelta(days=2)), co.CustomerOrderPromise),
        (dict(promised_date=date.today() + timedelta(days=400)), co.CustomerOrderPromise),
        (dict(promised_date="not a date"), errors.InvalidDate),
        (dict(fulfilment="drone"), errors.InvalidValue),
        (dict(fulfilment="delivery", address=""), errors.MissingValue),
        (dict(fulfilment="delivery", address="x" * 241), errors.TooLong),
        (dict(customer_ref=""), errors.MissingValue),
        (dict(customer_ref="x" * 41), errors.TooLong),
        (dict(contact="1" * 121), errors.TooLong),
        (dict(sku="NOPE"), errors.UnknownProduct),
    ]
    for values, refusal in refusals:
        with pytest.raises(refusal):
            place(session, world, **values)
    inventory.receive_purchase(session, location_id=a.id, sku="RK-CASE", quantity=2, reference="PO-A")
    with pytest.raises(co.CustomerOrderOnShelf):  # on the shelf here: sell it
        place(session, world, sku="RK-CASE", quantity=2, deposit=None)
    assert count(session, CustomerOrder) == before
    order = place(session, world, fulfilment="delivery", address="上海市徐汇区某路 1 号", deposit="2999")
    assert order.address and order.deposit == Decimal("2999.00")


def test_other_stores_get_not_found_and_only_the_origin_ships(session, world):
    a, b, c, d = world["a"], world["b"], world["c"], world["d"]
    order = place(session, world)
    with pytest.raises(errors.Forbidden):  # B's staff in A's store: the scope check
        co.cancel(session, world["staff_b"], store_id=a.id, order_id=order.id)
    for staff, store in ((world["staff_b"], b), (world["staff_d"], d)):
        for act in (co.cancel, co.hand_over, co.arrive, co.source):
            with pytest.raises(errors.NotFound):
                act(session, staff, store_id=store.id, order_id=order.id)
        with pytest.raises(errors.NotFound):
            co.ship(session, staff, store_id=store.id, order_id=order.id)
        with pytest.raises(errors.NotFound):
            co.detail(session, store_id=store.id, order_id=order.id)
    with pytest.raises(errors.Forbidden):  # the ordering store does not ship its own order
        co.ship(session, world["staff"], store_id=a.id, order_id=order.id)
    with pytest.raises(errors.NotFound):  # the origin sees the order but may not cancel or hand it over
        co.cancel(session, world["staff_c"], store_id=c.id, order_id=order.id)
    assert co.detail(session, store_id=c.id, order_id=order.id).is_origin
    assert [r.order.id for r in co.to_ship(session, store_id=c.id)] == [order.id]
    assert co.to_ship(session, store_id=d.id) == [] and co.orders_of_store(session, store_id=b.id) == []
    assert session.get(CustomerOrder, order.id).state == "sourced"


def test_a_hong_kong_store_is_never_sourced_across_the_border(session, world):
    b = world["b"]  # Hong Kong: the Shanghai stores hold stock, its DC is in Shanghai with none reserved yet
    from retail.models import Location
    hk_dc = Location(code="DC-HK", kind="dc", name="Hong Kong DC", city="Hong Kong", market="HK", currency="HKD")
    session.add(hk_dc)
    session.flush()
    session.get(type(b), b.id).dc_id = hk_dc.id
    session.commit()
    order = co.place(session, world["staff_b"], store_id=b.id, sku="RK-MAX2-BLK", promised_date=SOON,
                     customer_ref="HK-1")
    assert order.state == "placed" and order.currency == "HKD" and order.unit_price == Decimal("3299.00")
    assert count(session, TransferRequest) == 0


def test_cancel_gives_back_what_was_held_and_records_the_refund(session, world):
    a, c, glasses = world["a"], world["c"], world["glasses"]
    waiting = place(session, world)
    cancelled = co.cancel(session, world["staff"], store_id=a.id, order_id=waiting.id, reason="changed mind")
    assert (cancelled.state, cancelled.refund, cancelled.cancel_reason) == ("cancelled", Decimal("500.00"),
                                                                            "changed mind")
    assert cancelled.contact is None
    assert session.get(TransferRequest, waiting.transfer_id).status == "cancelled"
    assert balance(session, c, glasses) == (3, 0, 0)

    arrived = place(session, world, customer_ref="T-1002")
    co.ship(session, world["staff_c"], store_id=c.id, order_id=arrived.id, serials="SN-C3")
    co.arrive(session, world["staff"], store_id=a.id, order_id=arrived.id, serials="SN-C3")
    assert balance(session, a, glasses) == (1, 1, 0)
    co.cancel(session, world["staff"], store_id=a.id, order_id=arrived.id)
    assert balance(session, a, glasses) == (1, 0, 0)  # sellable to walk-ins now
    sales.sell(session, world["staff"], store_id=a.id, serials="SN-C3")
    assert history(session, arrived.id) == ["placed", "sourced", "shipped", "arrived", "cancelled"]

    on_the_way = place(session, world, customer_ref="T-1003")
    co.ship(session, world["staff_c"], store_id=c.id, order_id=on_the_way.id, serials="SN-C1")
    co.cancel(session, world["staff"], store_id=a.id, order_id=on_the_way.id)
    assert balance(session, a, glasses) == (0, 0, 1)  # it arrives as ordinary stock through deliveries
    with pytest.raises(co.CustomerOrderClosed):
        co.arrive(session, world["staff"], store_id=a.id, order_id=on_the_way.id, serials="SN-C1")


def test_the_need_follows_the_range_a_store_that_only_shows_the_model_spares_all_its_units(session, world):
    from retail.models import StoreRange
    a, c, d, glasses = world["a"], world["c"], world["d"], world["glasses"]
    inventory.receive_purchase(session, location_id=d.id, sku="RK-MAX2-BLK", quantity=3,
                               serials=["SN-E1", "SN-E2", "SN-E3"], reference="PO-D")
    stock = co.candidates(session, store_id=a.id, product_id=glasses.id)
    assert [(x.location.code, x.need, x.spare) for x in stock] == [("S0003", 1, 2), ("S0004", 1, 2)]
    monday = date.today() - timedelta(days=date.today().weekday() + 7)
    extra = {"week": monday} if "week" in StoreRange.model_fields else {}
    session.add(StoreRange(location_id=d.id, product_id=glasses.id, decision="show", status="approved",
                           reason="range_sells_to_order", valid_from=monday, **extra))
    session.commit()
    shown = co.candidates(session, store_id=a.id, product_id=glasses.id)
    assert [(x.location.code, x.need, x.spare) for x in shown] == [("S0004", 0, 3), ("S0003", 1, 2)]
    order = place(session, world, quantity=3)
    assert (order.source_kind, order.source_location_id) == ("store", d.id)
    assert balance(session, d, glasses) == (3, 3, 0) and balance(session, c, glasses) == (3, 0, 0)


def test_a_transfer_the_origin_declined_is_said_and_the_ship_writes_nothing(session, world):
    from retail.services import transfers
    a, c = world["a"], world["c"]
    order = place(session, world)
    transfers.decline_transfer(session, world["staff_c"], store_id=c.id, transfer_id=order.transfer_id,
                               reason="展示机不外借")
    events = count(session, CustomerOrderEvent)
    with pytest.raises(co.CustomerOrderTransferAnswered):
        co.ship(session, world["staff_c"], store_id=c.id, order_id=order.id)
    assert count(session, CustomerOrderEvent) == events
    assert session.get(CustomerOrder, order.id, populate_existing=True).state == "sourced"
    cancelled = co.cancel(session, world["staff"], store_id=a.id, order_id=order.id)  # and order again
    assert cancelled.state == "cancelled" and balance(session, c, world["glasses"]) == (3, 0, 0)


def test_a_unit_held_for_a_customer_is_not_sold_to_a_walk_in(session, world):
    """Held units are not sellable: at the origin while the order waits, and at the ordering store once it has
    arrived; the hand-over then sells it, and a count (a fact) may still go below the hold."""
    a, c = world["a"], world["c"]
    inventory.receive_purchase(session, location_id=c.id, sku="RK-CASE", quantity=3, reference="PO-C-CASE")
    order = place(session, world, sku="RK-CASE", deposit=None, customer_ref="HELD")
    assert balance(session, c, world["case"])[:2] == (3, 1)
    sales.sell(session, world["staff_c"], store_id=c.id, sku="RK-CASE", quantity=2)  # the two not promised
    with pytest.raises(errors.InsufficientStock) as refused:  # the last one is the customer's
        sales.sell(session, world["staff_c"], store_id=c.id, sku="RK-CASE")
    assert "Only 0 of RK-CASE" in str(refused.value) and balance(session, c, world["case"])[:2] == (1, 1)
    co.ship(session, world["staff_c"], store_id=c.id, order_id=order.id)
    co.arrive(session, world["staff"], store_id=a.id, order_id=order.id)
    assert balance(session, a, world["case"])[:2] == (1, 1)
    with pytest.raises(errors.InsufficientStock):
        sales.sell(session, world["staff"], store_id=a.id, sku="RK-CASE")
    assert balance(session, a, world["case"])[:2] == (1, 1)
    handed = co.hand_over(session, world["staff"], store_id=a.id, order_id=order.id)
    assert handed.state == "handed_over" and balance(session, a, world["case"])[:2] == (0, 0)
