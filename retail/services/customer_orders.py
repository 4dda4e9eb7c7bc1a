"""Customer orders, the endless aisle (issue 17): a clerk orders a SKU that is not on the shelf for a customer;
the system picks the source (a same-city store by transfer, or the store's DC), the units travel through the
ledger's existing verbs, wait for the customer at the ordering store, and are handed over as a sale through
`sales.sell`. See docs/customer-orders.md.

One state machine, one table of transitions (`NEXT`). Every transition is a verb that claims the order with a
conditional UPDATE on its state (`UPDATE customer_order SET state = :to WHERE id = :id AND state = :from`)
before it writes anything else: of two concurrent answers (a hand-over racing a cancellation) exactly one
changes the row, the other writes nothing and is refused (`CustomerOrderClosed`). A transition repeated after
it happened (a retried form) returns the order as it is and writes nothing.

Reservations use the ledger's `stock_balance.reserved` column: units promised to a customer order at the
source while they wait to be shipped, and at the ordering store once they arrived. They are taken and given
back by conditional UPDATEs (`reserved + q WHERE on_hand - reserved >= q`, `reserved - q WHERE reserved >= q`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import case, select, update
from sqlmodel import Session

from retail import errors, parsing
from retail.models import (
    CustomerOrder,
    CustomerOrderEvent,
    CustomerOrderState,
    Location,
    LocationKind,
    LocationStatus,
    Movement,
    Product,
    SerialState,
    SerialUnit,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    StockBalance,
    TransferRequest,
    TransferStatus,
    User,
    utcnow,
)
from retail.services import audit, deliveries, ledger, products, ranging, sales, transfers
from retail.services.ledger.postings import location_by_id
from retail.services.verbs import NETWORK, STORE, query, verb
from retail.services.weekly_sales import local_day

S = CustomerOrderState
MAX_QUANTITY = 5  # units of one order: a customer's purchase, not a wholesale order
MAX_PROMISE_DAYS = 60  # the promised date lies between today and this many days ahead (store's calendar)
CUSTOMER_REF_LENGTH = 40
CONTACT_LENGTH = 120
ADDRESS_LENGTH = 240
FULFILMENTS = ("pickup", "delivery")
KEEP_ON_SHELF = 1  # a store that stocks the SKU never gives its last unit away: it keeps one for its walk-ins
MAX_CANDIDATES = 200  # stores of one city looked at (the largest city has about 150 partner stores)
OPEN = (S.placed, S.sourced, S.shipped, S.arrived)
FORWARD = (S.placed, S.sourced, S.shipped, S.arrived, S.handed_over)
# The customer's contact and address serve the open order only: the closing transition erases them (the
# customer reference, the store's own ticket number, stays).
FORGET = {"contact": None, "address": None}

# The one table of transitions: verb -> (states it may start from, state it leads to).
NEXT = {
    "source": ({S.placed}, S.sourced),
    "ship": ({S.sourced}, S.shipped),
    "arrive": ({S.shipped}, S.arrived),
    "hand_over": ({S.arrived}, S.handed_over),
    "cancel": ({S.placed, S.sourced, S.shipped, S.arrived}, S.cancelled),
}


class CustomerOrderClosed(errors.DomainError):
    code = "customer_order_closed"
    message = "Customer order {reference} is {state}: it cannot be {verb} now."


class CustomerOrderOnShelf(errors.DomainError):
    code = "customer_order_on_shelf"
    message = "{sku} is on the shelf here ({available} available): sell it instead of ordering it."


class CustomerOrderTooMany(errors.DomainError):
    code = "customer_order_too_many"
    message = "A customer order is for 1 to {limit} units, not {quantity}."


class CustomerOrderDeposit(errors.DomainError):
    code = "customer_order_deposit_above_price"
    message = "The deposit {deposit} is more than the price {price} {currency}."


class CustomerOrderPromise(errors.DomainError):
    code = "customer_order_promise_out_of_range"
    message = "The promised date {value} must lie between {first} and {last}."


class CustomerOrderNoSource(errors.DomainError):
    code = "customer_order_no_source"
    message = "No store in {city} and not the DC has {quantity} of {sku} to spare yet."


class CustomerOrderTransferAnswered(errors.DomainError):
    code = "customer_order_transfer_answered"
    message = "The transfer for customer order {reference} was {status}: cancel the order and order again."


def reference(order_id: int) -> str:
    """The order's reference: the shipment from the DC and the hand-over sale carry it."""
    return f"CO-{order_id}"


# -- the reservation counter ---------------------------------------------------------------------------------

def _reserve(session: Session, location_id: int, product_id: int, quantity: int, keep: int = 0) -> bool:
    """Hold `quantity` units at a location for a customer order, if its on-hand not yet held covers them and
    `keep` more. One conditional UPDATE: two orders cannot hold the same unit."""
    b = StockBalance.__table__.c
    return session.execute(
        update(StockBalance).where(b.location_id == location_id, b.product_id == product_id,
                                   b.on_hand - b.reserved >= quantity + keep)
        .values(reserved=b.reserved + quantity, updated_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount == 1


def _release(session: Session, location_id: int, product_id: int, quantity: int) -> None:
    """Give back units held for an order (never below zero: the CHECK on `reserved` backs it)."""
    if quantity <= 0:
        return
    b = StockBalance.__table__.c
    session.execute(
        update(StockBalance).where(b.location_id == location_id, b.product_id == product_id, b.reserved >= quantity)
        .values(reserved=b.reserved - quantity, updated_at=utcnow()).execution_options(synchronize_session=False))


# -- transitions -----------------------------------------------------------------------------------------------

def _claim(session: Session, order: CustomerOrder, verb_name: str, actor_id: int | None, *, start: str | None = None,
           detail: dict | None = None, **values) -> bool:
    """Move the order by `NEXT[verb_name]`: True when this call moved it; False when it already stood in the
    target state (a repeated transition: nothing written). Any other state: CustomerOrderClosed."""
    allowed, target = NEXT[verb_name]
    current = start or order.state
    if _happened(current, target):
        return False
    if current not in allowed:
        raise CustomerOrderClosed(reference=reference(order.id), state=current, verb=verb_name)
    now = utcnow()
    claimed = session.execute(
        update(CustomerOrder).where(CustomerOrder.id == order.id, CustomerOrder.state == current)
        .values(state=target, updated_at=now, **values).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:  # another answer won: on PostgreSQL this UPDATE waited for its commit
        state = session.execute(select(CustomerOrder.state).where(CustomerOrder.id == order.id)).scalar_one()
        if _happened(state, target):
            return False
        raise CustomerOrderClosed(reference=reference(order.id), state=state, verb=verb_name)
    session.add(CustomerOrderEvent(order_id=order.id, from_state=current, to_state=target, at=now,
                                   actor_id=actor_id, detail=detail))
    audit.record(session, actor_id=actor_id, action=f"customer_order.{target}", entity="customer_order",
                 entity_id=order.id, detail=detail)
    session.flush()
    session.refresh(order)
    return True


def _happened(state: str, target: str) -> bool:
    """The transition to `target` already happened: the order stands there, or further along the way to the
    hand-over (a ship repeated after the arrival changes nothing either)."""
    if state == target:
        return True
    return state in FORWARD and target in FORWARD and FORWARD.index(state) > FORWARD.index(target)


def _order_of_store(session: Session, order_id: int, store_id: int) -> CustomerOrder:
    """The order when `store_id` is the ordering store; NotFound for any other store (the origin too)."""
    order = session.get(CustomerOrder, order_id)
    if order is None or order.store_id != store_id:
        raise errors.NotFound(what="Customer order", key=order_id)
    return order


def _today(store: Location) -> date:
    return local_day(utcnow(), store.timezone)


@verb(STORE)
def place(session: Session, actor: User, *, store_id: int, sku: str, quantity: int = 1, deposit=None,
          promised_date: date | None = None, fulfilment: str = "pickup", customer_ref: str = "",
          contact: str | None = None, address: str | None = None, at: datetime | None = None) -> CustomerOrder:
    """A clerk orders a SKU that is not on this store's shelf for a customer, and the system sources it at once
    (`_source`; the order stays `placed` when nothing can be spared yet). The price is the list price in the
    store's currency; a deposit is optional and never above the price."""
    store = location_by_id(session, store_id)
    if store.kind != LocationKind.store:
        raise errors.NotFound(what="Store", key=store_id)
    product = products.by_sku_or_barcode(session, parsing.sku(sku))
    quantity = ledger.check_quantity(quantity)
    if quantity > MAX_QUANTITY:
        raise CustomerOrderTooMany(limit=MAX_QUANTITY, quantity=quantity)
    price = Decimal(product.list_price_hkd if store.currency == "HKD" else product.list_price_cny)
    deposit = parsing.money(deposit, field="deposit", default=Decimal("0.00"))
    if deposit > price * quantity:
        raise CustomerOrderDeposit(deposit=f"{deposit:.2f}", price=f"{price * quantity:.2f}", currency=store.currency)
    today = _today(store)
    promised = promised_date if isinstance(promised_date, date) and not isinstance(promised_date, datetime) else \
        local_day(parsing.local_datetime(promised_date, ZoneInfo(store.timezone), field="promised_date"),
                  store.timezone)
    if not today <= promised <= today + timedelta(days=MAX_PROMISE_DAYS):
        raise CustomerOrderPromise(value=promised.isoformat(), first=today.isoformat(),
                                   last=(today + timedelta(days=MAX_PROMISE_DAYS)).isoformat())
    if fulfilment not in FULFILMENTS:
        raise errors.InvalidValue(field="fulfilment", value=parsing.shown(fulfilment))
    ref = parsing.text(customer_ref, field="customer_ref", max_length=CUSTOMER_REF_LENGTH, required=True)
    contact = parsing.text(contact, field="contact", max_length=CONTACT_LENGTH)
    address = parsing.text(address, field="address", max_length=ADDRESS_LENGTH,
                           required=fulfilment == "delivery") if fulfilment == "delivery" else None
    balance = session.get(StockBalance, (store.id, product.id))
    available = (balance.on_hand - balance.reserved) if balance else 0
    if available >= quantity:
        raise CustomerOrderOnShelf(sku=product.sku, available=available)
    now = at or utcnow()
    order = CustomerOrder(store_id=store.id, product_id=product.id, quantity=quantity, state=S.placed,
                          currency=store.currency, unit_price=price, deposit=deposit, promised_date=promised,
                          fulfilment=fulfilment, customer_ref=ref, contact=contact, address=address,
                          placed_by=actor.id, placed_at=now, updated_at=now)
    session.add(order)
    session.flush()
    session.add(CustomerOrderEvent(order_id=order.id, from_state=None, to_state=S.placed, at=now, actor_id=actor.id,
                                   detail={"deposit": f"{deposit:.2f}", "currency": store.currency}))
    audit.record(session, actor_id=actor.id, action="customer_order.placed", entity="customer_order",
                 entity_id=order.id, detail={"sku": product.sku, "quantity": quantity})
    session.flush()
    _source(session, actor, order, store, product)
    return order


@dataclass(frozen=True)
class Candidate:
    location: Location
    need: int  # what it keeps for itself: KEEP_ON_SHELF where its range says `stock`, else 0
    spare: int  # on hand, less what is reserved, less its need


@query
def candidates(session: Session, *, store_id: int, product_id: int) -> list[Candidate]:
    """Same-city stores (same market, active, not this one) by units to spare, most first, then by code:
    spare = on hand - reserved - need. The need is the range's (`ranging.decisions_in_force` today): a store
    that stocks the SKU keeps KEEP_ON_SHELF units for its walk-ins; one that only shows it (or does not carry
    it) needs none of its sellable units."""
    here = session.get(Location, store_id)
    b = StockBalance.__table__.c
    free = (b.on_hand - b.reserved).label("free")
    rows = session.execute(
        select(Location, free).join(StockBalance, StockBalance.location_id == Location.id)
        .where(Location.kind == LocationKind.store, Location.status == LocationStatus.active,
               Location.city == here.city, Location.market == here.market, Location.id != here.id,
               b.product_id == product_id, free > 0)
        .order_by(Location.code).limit(MAX_CANDIDATES)).all()
    if not rows:
        return []
    decisions = ranging.decisions_in_force(session, day=_today(here),
                                           cells=[(location.id, product_id) for location, _ in rows])
    out = []
    for location, available in rows:
        need = KEEP_ON_SHELF if decisions[(location.id, product_id)] == "stock" else 0
        if available - need > 0:
            out.append(Candidate(location, need, int(available) - need))
    return sorted(out, key=lambda c: (-c.spare, c.location.code))


def _source(session: Session, actor: User, order: CustomerOrder, store: Location, product: Product) -> bool:
    """The sourcing rule (docs/customer-orders.md): the same-city store with the most units to spare that can
    hold the whole order (a transfer request of the ordering store to it, the units reserved there), else the
    store's DC when its unreserved stock covers the order (reserved there). Never across the border: the
    candidates are of the same city and market, and the DC is the store's own. False when nothing can be
    spared: the order stays `placed`."""
    for candidate in candidates(session, store_id=store.id, product_id=product.id):
        if candidate.spare < order.quantity:
            break
        if not _reserve(session, candidate.location.id, product.id, order.quantity, keep=candidate.need):
            continue
        transfer = transfers.request_transfer(session, actor, store_id=store.id,
                                              from_store_code=candidate.location.code, sku=product.sku,
                                              quantity=order.quantity, note=f"{reference(order.id)}")
        _claim(session, order, "source", actor.id, source_kind="store", source_location_id=candidate.location.id,
               reserved_at_source=order.quantity, transfer_id=transfer.id,
               detail={"source": candidate.location.code, "kind": "store", "transfer": transfer.id})
        return True
    if store.dc_id is not None and _reserve(session, store.dc_id, product.id, order.quantity):
        dc = session.get(Location, store.dc_id)
        _claim(session, order, "source", actor.id, source_kind="dc", source_location_id=dc.id,
               reserved_at_source=order.quantity, detail={"source": dc.code, "kind": "dc"})
        return True
    return False


@verb(STORE)
def source(session: Session, actor: User, *, store_id: int, order_id: int) -> CustomerOrder:
    """Try the sourcing rule again for an order still `placed` (stock may have come in since)."""
    order = _order_of_store(session, order_id, store_id)
    if order.state != S.placed:
        _claim(session, order, "source", actor.id)  # sourced already: nothing; cancelled: refused
        return order
    # Take the order's row first (a write that changes nothing else): a concurrent twin waits here, then finds
    # the order sourced and reserves nothing.
    if session.execute(update(CustomerOrder).where(CustomerOrder.id == order.id, CustomerOrder.state == S.placed)
                       .values(updated_at=utcnow()).execution_options(synchronize_session=False)).rowcount != 1:
        session.refresh(order)
        _claim(session, order, "source", actor.id)
        return order
    store, product = session.get(Location, order.store_id), session.get(Product, order.product_id)
    if not _source(session, actor, order, store, product):
        raise CustomerOrderNoSource(city=store.city_zh or store.city, quantity=order.quantity, sku=product.sku)
    return order


@verb(STORE)
def ship(session: Session, actor: User, *, store_id: int, order_id: int, serials: Sequence[str] | str = (),
         at: datetime | None = None) -> CustomerOrder:
    """The origin store sends the units: its hold is given back and the transfer request is shipped through
    `transfers.ship_transfer` (serials scanned, `TR-<id>`). Only the origin's staff (or a planner) may; the
    ordering store gets Forbidden, any other store NotFound. A transfer already shipped from the transfers page
    is taken as this shipment."""
    order = session.get(CustomerOrder, order_id)
    if order is None or store_id not in (order.store_id, order.source_location_id):
        raise errors.NotFound(what="Customer order", key=order_id)
    if order.source_kind != "store" or order.source_location_id != store_id:
        raise errors.Forbidden(what=f"customer order {order_id}")
    if order.state != S.sourced:
        _claim(session, order, "ship", actor.id)  # shipped or later: nothing to do (or refused)
        return order
    if not _claim(session, order, "ship", actor.id, start=S.sourced, reserved_at_source=0,
                  detail={"transfer": order.transfer_id}):
        return order
    # Read after the claim: a cancellation that won has cancelled the transfer too, and lost to the claim above.
    transfer = session.get(TransferRequest, order.transfer_id, populate_existing=True)
    if transfer.status in (TransferStatus.declined, TransferStatus.cancelled):  # the origin declined it
        raise CustomerOrderTransferAnswered(reference=reference(order.id), status=transfer.status)
    _release(session, store_id, order.product_id, order.quantity)
    if transfer.status == TransferStatus.requested:
        transfer = transfers.ship_transfer(session, actor, store_id=store_id, transfer_id=transfer.id,
                                           serials=serials, at=at)
    session.execute(update(CustomerOrder).where(CustomerOrder.id == order.id)
                    .values(shipment_id=transfer.shipment_id).execution_options(synchronize_session=False))
    session.flush()
    session.refresh(order)
    return order


@verb(NETWORK)
def ship_from_dc(session: Session, actor: User, *, order_id: int, at: datetime | None = None) -> CustomerOrder:
    """A planner (for the DC) sends an order sourced from the DC, the way replenishment orders leave it
    (`replenishment.ship`): serials picked first in, `ledger.ship` with the reference `CO-<id>`."""
    order = session.get(CustomerOrder, order_id)
    if order is None:
        raise errors.NotFound(what="Customer order", key=order_id)
    if order.source_kind != "dc":
        raise errors.Forbidden(what=f"customer order {order_id}")
    if order.state != S.sourced:
        _claim(session, order, "ship", actor.id)
        return order
    product = session.get(Product, order.product_id)
    dc_id = order.source_location_id
    if not _claim(session, order, "ship", actor.id, start=S.sourced, reserved_at_source=0):
        return order
    _release(session, dc_id, product.id, order.quantity)
    picked = []
    if product.serialised:
        picked = list(session.execute(
            select(SerialUnit.serial).where(SerialUnit.product_id == product.id, SerialUnit.location_id == dc_id,
                                            SerialUnit.state == SerialState.in_stock)
            .order_by(SerialUnit.updated_at, SerialUnit.serial).limit(order.quantity)).scalars())
    shipment = ledger.ship(session, from_location_id=dc_id, to_location_id=order.store_id,
                           lines=[ledger.Line(product.sku, order.quantity, tuple(picked))],
                           reference=reference(order.id), actor_id=actor.id, at=at)
    session.execute(update(CustomerOrder).where(CustomerOrder.id == order.id)
                    .values(shipment_id=shipment.id).execution_options(synchronize_session=False))
    session.flush()
    session.refresh(order)
    return order


@verb(STORE)
def arrive(session: Session, actor: User, *, store_id: int, order_id: int, serials: Sequence[str] | str = (),
           at: datetime | None = None) -> CustomerOrder:
    """The ordering store receives the order's shipment (`deliveries.receive`: serialised units by scan) and
    holds what arrived for the customer (`reserved`). A shipment already received from the deliveries page is
    taken as it is."""
    order = _order_of_store(session, order_id, store_id)
    if order.state != S.shipped:
        _claim(session, order, "arrive", actor.id)
        return order
    if not _claim(session, order, "arrive", actor.id, start=S.shipped):
        return order
    product = session.get(Product, order.product_id)
    shipment = session.get(Shipment, order.shipment_id)
    if shipment.status == ShipmentStatus.in_transit:
        scanned = parsing.serials(serials)
        deliveries.receive(session, actor, store_id=store_id, shipment_id=shipment.id,
                           serials={product.sku: scanned} if product.serialised else None, at=at)
    line = session.execute(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment.id,
                                                      ShipmentLine.product_id == product.id)).scalars().first()
    session.refresh(line)
    arrived = min(line.received_quantity or 0, order.quantity)
    held = arrived if arrived and _reserve(session, store_id, product.id, arrived) else 0
    kept = list(line.received_serials or [])[:order.quantity] if product.serialised else None
    session.execute(update(CustomerOrder).where(CustomerOrder.id == order.id)
                    .values(reserved_here=held, serials=kept).execution_options(synchronize_session=False))
    session.execute(update(CustomerOrderEvent).where(CustomerOrderEvent.order_id == order.id,
                                                     CustomerOrderEvent.to_state == S.arrived)
                    .values(detail={"shipment": shipment.reference, "arrived": arrived, "held": held})
                    .execution_options(synchronize_session=False))
    session.flush()
    session.refresh(order)
    return order


@verb(STORE)
def hand_over(session: Session, actor: User, *, store_id: int, order_id: int,
              at: datetime | None = None) -> CustomerOrder:
    """The customer collects (or receives) the order: the hold is given back and the units are sold through
    `sales.sell` at the order's price in the store's currency, with the reference `CO-<id>`; the deposit counts
    toward it (the balance due is kept in the history)."""
    order = _order_of_store(session, order_id, store_id)
    if order.state != S.arrived:
        _claim(session, order, "hand_over", actor.id)
        return order
    due = order.unit_price * order.quantity - order.deposit
    held = order.reserved_here
    if not _claim(session, order, "hand_over", actor.id, start=S.arrived, reserved_here=0, **FORGET,
                  detail={"due": f"{due:.2f}", "deposit": f"{order.deposit:.2f}", "currency": order.currency}):
        return order
    _release(session, store_id, order.product_id, held)
    product = session.get(Product, order.product_id)
    sale = sales.sell(session, actor, store_id=store_id, sku=product.sku, quantity=order.quantity,
                      serials=list(order.serials or []) if product.serialised else (),
                      unit_price=order.unit_price, reference=reference(order.id), at=at)
    session.execute(update(CustomerOrder).where(CustomerOrder.id == order.id)
                    .values(sale_movement_id=sale.id).execution_options(synchronize_session=False))
    session.flush()
    session.refresh(order)
    return order


@verb(STORE)
def cancel(session: Session, actor: User, *, store_id: int, order_id: int, reason: str | None = None,
           at: datetime | None = None) -> CustomerOrder:
    """The ordering store cancels before the hand-over: what is held is given back (at the source while it
    waits; at this store once arrived, where the units become sellable stock); a transfer still requested is
    cancelled; units already on their way arrive as ordinary stock. The deposit is recorded as refunded."""
    order = _order_of_store(session, order_id, store_id)
    reason = parsing.text(reason, field="reason", max_length=parsing.MAX_TEXT_LENGTH)
    start, held, held_at_source = order.state, order.reserved_here, order.reserved_at_source
    if start == S.cancelled:
        return order
    if not _claim(session, order, "cancel", actor.id, start=start, refund=order.deposit, cancel_reason=reason,
                  reserved_at_source=0, reserved_here=0, **FORGET,
                  detail={"refund": f"{order.deposit:.2f}", "currency": order.currency, "reason": reason}):
        return order
    if start == S.sourced:
        _release(session, order.source_location_id, order.product_id, held_at_source)
        if order.transfer_id is not None:
            transfer = session.get(TransferRequest, order.transfer_id)
            if transfer.status == TransferStatus.requested:
                transfers.cancel_transfer(session, actor, store_id=store_id, transfer_id=transfer.id, at=at)
    elif start == S.arrived:
        _release(session, store_id, order.product_id, held)
    return order


# -- reads -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    order: CustomerOrder
    product: Product
    store_code: str
    source_code: str | None


def _rows(session: Session, where, limit: int, order_by: tuple | None = None) -> list[Row]:
    store = Location.__table__.alias("ordering")
    origin = Location.__table__.alias("origin")
    rows = session.execute(
        select(CustomerOrder, Product, store.c.code, origin.c.code)
        .join(Product, Product.id == CustomerOrder.product_id)
        .join(store, store.c.id == CustomerOrder.store_id)
        .outerjoin(origin, origin.c.id == CustomerOrder.source_location_id)
        .where(where)
        .order_by(*(order_by or (case((CustomerOrder.state.in_([s.value for s in OPEN]), 0), else_=1),
                                 CustomerOrder.promised_date, CustomerOrder.id.desc())))
        .limit(limit)).all()
    return [Row(r[0], r[1], r[2], r[3]) for r in rows]


@query
def orders_of_store(session: Session, *, store_id: int, limit: int = 50) -> list[Row]:
    """This store's customer orders: open ones first (soonest promise first), then the closed ones."""
    return _rows(session, CustomerOrder.store_id == store_id, limit)


@query
def to_ship(session: Session, *, store_id: int, limit: int = 50) -> list[Row]:
    """Orders of other stores sourced from this store that wait for it to ship."""
    return _rows(session, (CustomerOrder.source_location_id == store_id) & (CustomerOrder.state == S.sourced)
                 & (CustomerOrder.source_kind == "store"), limit)


ROLES = ("ordering", "origin")  # the store took the order / the store was chosen to send it


@query
def orders_page(session: Session, *, store_id: int, role: str = "ordering", state: str | None = None,
                before_id: int | None = None, limit: int = 50) -> list[Row]:
    """A page of the orders a store sees, newest first (id descending, a stable order for cursors): as the
    ordering store, its own orders; as the origin, other stores' orders sourced from it (the same orders
    `detail` shows it; `state="sourced"` gives those waiting for it to ship, as `to_ship`)."""
    if role not in ROLES:
        raise errors.InvalidValue(field="role", value=parsing.shown(role))
    if role == "ordering":
        where = CustomerOrder.store_id == store_id
    else:
        where = (CustomerOrder.source_location_id == store_id) & (CustomerOrder.source_kind == "store")
    if state:
        if state not in set(S):
            raise errors.InvalidValue(field="state", value=parsing.shown(state))
        where = where & (CustomerOrder.state == state)
    if before_id is not None:
        where = where & (CustomerOrder.id < before_id)
    return _rows(session, where, limit, order_by=(CustomerOrder.id.desc(),))


@query
def dc_open(session: Session, *, limit: int = 200) -> list[Row]:
    """Open customer orders sourced from a DC that wait to be shipped (the planners' list)."""
    return _rows(session, (CustomerOrder.source_kind == "dc") & (CustomerOrder.state == S.sourced), limit)


@dataclass(frozen=True)
class Detail:
    order: CustomerOrder
    product: Product
    store: Location
    source: Location | None
    events: list[tuple[CustomerOrderEvent, str | None]]
    is_origin: bool  # the store looking is the origin (it may ship), not the ordering store
    serials_at_origin: list[str]
    sale: Movement | None
    due: Decimal


@query
def detail(session: Session, *, store_id: int, order_id: int) -> Detail:
    """The order as its ordering store or its origin store sees it; NotFound for any other store."""
    order = session.get(CustomerOrder, order_id)
    if order is None or store_id not in (order.store_id, order.source_location_id):
        raise errors.NotFound(what="Customer order", key=order_id)
    product = session.get(Product, order.product_id)
    is_origin = order.store_id != store_id
    serials = []
    if is_origin and product.serialised and order.state == S.sourced:
        serials = list(session.execute(
            select(SerialUnit.serial).where(SerialUnit.location_id == store_id, SerialUnit.product_id == product.id,
                                            SerialUnit.state == SerialState.in_stock)
            .order_by(SerialUnit.serial).limit(50)).scalars())
    events = session.execute(
        select(CustomerOrderEvent, User.name).outerjoin(User, User.id == CustomerOrderEvent.actor_id)
        .where(CustomerOrderEvent.order_id == order.id).order_by(CustomerOrderEvent.at, CustomerOrderEvent.id)).all()
    return Detail(order=order, product=product, store=session.get(Location, order.store_id),
                  source=session.get(Location, order.source_location_id) if order.source_location_id else None,
                  events=[(e, name) for e, name in events], is_origin=is_origin, serials_at_origin=serials,
                  sale=session.get(Movement, order.sale_movement_id) if order.sale_movement_id else None,
                  due=order.unit_price * order.quantity - order.deposit)


@query
def shown_here(session: Session, *, store_id: int, limit: int = 30) -> list[Product]:
    """The models this store only shows (an approved `show` range decision in force today) with nothing
    sellable on its shelf: what the sale page offers to order for a customer."""
    store = session.get(Location, store_id)
    if store is None:
        return []
    cells = ranging.approved_in_force(session, day=_today(store), store_ids=[store_id])
    shown = [int(p) for p in cells.loc[cells["decision"] == "show", "product_id"]]
    if not shown:
        return []
    b = StockBalance.__table__.c
    sellable = dict(session.execute(select(b.product_id, b.on_hand - b.reserved).where(
        b.location_id == store_id, b.product_id.in_(shown))).all())
    wanted = [p for p in shown if sellable.get(p, 0) <= 0]
    return list(session.execute(select(Product).where(Product.id.in_(wanted)).order_by(Product.sku)
                                .limit(limit)).scalars()) if wanted else []


@query
def shipment_serials(session: Session, *, store_id: int, order_id: int) -> list[str]:
    """The serials on the way to this store for its order (what the arrival form expects to be scanned)."""
    order = _order_of_store(session, order_id, store_id)
    if order.shipment_id is None:
        return []
    line = session.execute(select(ShipmentLine).where(ShipmentLine.shipment_id == order.shipment_id)).scalars().first()
    return list(line.serials or []) if line else []

