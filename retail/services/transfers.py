"""Transfer requests between stores: a store asks another for units of a SKU; the origin ships them
(a shipment `TR-<id>` through the ledger) or declines; the requester may cancel while requested. And
the reads of the transfer pages.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select, update
from sqlmodel import Session

from retail import errors, parsing
from retail.models import (
    Location,
    LocationKind,
    Product,
    SerialState,
    SerialUnit,
    Shipment,
    StockBalance,
    TransferRequest,
    TransferStatus,
    User,
    utcnow,
)
from retail.services import audit, ledger, products
from retail.services.ledger.postings import check_quantity, clean_serials, location_by_id
from retail.services.verbs import STORE, query, verb

NOTE_LENGTH = 240


@verb(STORE)
def request_transfer(session: Session, actor: User, *, store_id: int, from_store_code: str, sku: str,
                     quantity: int, note: str | None = None) -> TransferRequest:
    """Ask another store to send units of a SKU to this one; the other store must hold them."""
    quantity = check_quantity(quantity)
    destination = location_by_id(session, store_id)
    code = parsing.store_code(from_store_code, field="from_store")
    origin = session.execute(select(Location).where(func.upper(Location.code) == code)).scalars().first()
    if origin is None or origin.kind != LocationKind.store:
        raise errors.UnknownLocation(location=code)
    origin = location_by_id(session, origin.id)
    if origin.id == destination.id:
        raise errors.TransferToSameStore(location=origin.code)
    if origin.market != destination.market:  # stock does not cross the border store to store
        raise errors.TransferAcrossBorder(origin=origin.code, destination=destination.code)
    product = products.by_sku_or_barcode(session, sku)
    balance = session.get(StockBalance, (origin.id, product.id))
    available = balance.on_hand if balance else 0
    if available < quantity:
        raise errors.InsufficientStock(sku=product.sku, location=origin.code, available=available,
                                       requested=quantity)
    transfer = TransferRequest(from_store_id=origin.id, to_store_id=destination.id, product_id=product.id,
                               quantity=quantity, note=parsing.text(note, field="note", max_length=NOTE_LENGTH),
                               requested_by=actor.id)
    session.add(transfer)
    session.flush()
    return transfer


def transfer_reference(transfer_id: int) -> str:
    """The reference of the shipment that fulfils a transfer request: one request, at most one shipment
    (`shipment.reference` is unique), so a retried or concurrent ship cannot send the units twice."""
    return f"TR-{transfer_id}"


def _transfer_to_act_on(session: Session, *, store_id: int, transfer_id: int, side: str) -> TransferRequest:
    """The request, when `store_id` is the store that may act on it: the origin (`side="origin"`, ship or
    decline) or the requesting store (`side="requester"`, cancel). A request this store has no part in is
    NotFound; one of this store on the other side is Forbidden (the actor's scope is the verb's check)."""
    transfer = session.get(TransferRequest, transfer_id)
    if transfer is None or store_id not in (transfer.from_store_id, transfer.to_store_id):
        raise errors.NotFound(what="Transfer request", key=transfer_id)
    acting_store = transfer.from_store_id if side == "origin" else transfer.to_store_id
    if acting_store != store_id:
        raise errors.Forbidden(what=f"transfer request {transfer_id}")
    return transfer


def _close_transfer(session: Session, transfer: TransferRequest, *, status: TransferStatus, actor_id: int,
                    at: datetime, **values) -> None:
    """Move a request out of `requested`, atomically: UPDATE ... WHERE status = 'requested'. Of two
    concurrent decisions (ship and cancel, two ships) exactly one changes the row; the other is refused
    with the status the winner left (on PostgreSQL it waits for the winner's commit, then finds no row)."""
    claimed = session.execute(
        update(TransferRequest)
        .where(TransferRequest.id == transfer.id, TransferRequest.status == TransferStatus.requested)
        .values(status=status, acted_by=actor_id, acted_at=at, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        current = session.execute(select(TransferRequest.status).where(TransferRequest.id == transfer.id)).scalar_one()
        raise errors.TransferClosed(transfer=transfer.id, status=current)


@verb(STORE)
def ship_transfer(session: Session, actor: User, *, store_id: int, transfer_id: int, serials: Sequence[str] | str = (),
                  at: datetime | None = None) -> TransferRequest:
    """The origin store sends the units asked for: the request becomes `shipped` and a shipment
    `TR-<id>` leaves the origin's stock for the requesting store's in-transit stock (`shipments.ship`),
    linked by `shipment_id`. Serialised SKUs need exactly the requested number of serials scanned, in
    stock at the origin. One transaction: if the stock or a serial is refused, nothing changes."""
    transfer = _transfer_to_act_on(session, store_id=store_id, transfer_id=transfer_id, side="origin")
    at = at or utcnow()
    _close_transfer(session, transfer, status=TransferStatus.shipped, actor_id=actor.id, at=at)
    product = session.get(Product, transfer.product_id)
    scanned = clean_serials(serials)
    reference = transfer_reference(transfer.id)
    shipment = ledger.ship(
        session, from_location_id=transfer.from_store_id, to_location_id=transfer.to_store_id,
        lines=[ledger.Line(product.sku, transfer.quantity, tuple(scanned))], reference=reference,
        actor_id=actor.id, at=at)
    session.execute(update(TransferRequest).where(TransferRequest.id == transfer.id)
                    .values(shipment_id=shipment.id).execution_options(synchronize_session=False))
    audit.record(session, actor_id=actor.id, action="transfer.shipped", entity="transfer_request",
                 entity_id=transfer.id, detail={"shipment": reference, "sku": product.sku,
                                                "quantity": transfer.quantity,
                                                "serials": scanned if product.serialised else []})
    session.flush()
    session.refresh(transfer)
    return transfer


@verb(STORE)
def decline_transfer(session: Session, actor: User, *, store_id: int, transfer_id: int, reason: str,
                     at: datetime | None = None) -> TransferRequest:
    """The origin store will not send the units; the reason is kept and shown to the requesting store."""
    transfer = _transfer_to_act_on(session, store_id=store_id, transfer_id=transfer_id, side="origin")
    reason = parsing.text(reason, field="reason", max_length=NOTE_LENGTH, required=True)
    _close_transfer(session, transfer, status=TransferStatus.declined, actor_id=actor.id, at=at or utcnow(),
                    decline_reason=reason)
    audit.record(session, actor_id=actor.id, action="transfer.declined", entity="transfer_request",
                 entity_id=transfer.id, detail={"reason": reason})
    session.flush()
    session.refresh(transfer)
    return transfer


@verb(STORE)
def cancel_transfer(session: Session, actor: User, *, store_id: int, transfer_id: int,
                    at: datetime | None = None) -> TransferRequest:
    """The requesting store withdraws its request, while it is still `requested`."""
    transfer = _transfer_to_act_on(session, store_id=store_id, transfer_id=transfer_id, side="requester")
    _close_transfer(session, transfer, status=TransferStatus.cancelled, actor_id=actor.id, at=at or utcnow())
    audit.record(session, actor_id=actor.id, action="transfer.cancelled", entity="transfer_request",
                 entity_id=transfer.id)
    session.flush()
    session.refresh(transfer)
    return transfer


@query
def requests(session: Session, *, store_id: int, incoming: bool | None = None, limit: int = 20) -> list[tuple]:
    """Requests this store made (`incoming=False`), received as the origin (`incoming=True`) or both:
    (request, product, other store's code, other store's name). Open requests first, then the newest,
    so a request still waiting for an answer is never pushed off the page by old ones."""
    other = Location.__table__.alias("other")
    if incoming is None:
        mine = or_(TransferRequest.to_store_id == store_id, TransferRequest.from_store_id == store_id)
    else:
        mine = (TransferRequest.from_store_id if incoming else TransferRequest.to_store_id) == store_id
    rows = session.execute(
        select(TransferRequest, Product, other.c.code, other.c.name)
        .join(Product, Product.id == TransferRequest.product_id)
        .join(other, other.c.id == case((TransferRequest.to_store_id == store_id, TransferRequest.from_store_id),
                                        else_=TransferRequest.to_store_id))
        .where(mine)
        .order_by(case((TransferRequest.status == TransferStatus.requested, 0), else_=1),
                  TransferRequest.requested_at.desc(), TransferRequest.id.desc())
        .limit(limit)
    ).all()
    return [tuple(r) for r in rows]


@query
def to_answer(session: Session, *, store_id: int) -> int:
    """Requests other stores made of this one that still wait for it to ship or decline."""
    return session.execute(
        select(func.count()).select_from(TransferRequest)
        .where(TransferRequest.from_store_id == store_id, TransferRequest.status == TransferStatus.requested)
    ).scalar_one()


@dataclass(frozen=True)
class Detail:
    request: TransferRequest
    product: Product
    origin: Location  # the store asked to send
    destination: Location  # the store that asked
    incoming: bool  # True when the store looking is the origin
    on_hand_at_origin: int
    serials_at_origin: list[str]  # in stock at the origin, for the origin's ship form (serialised SKUs)
    shipment: Shipment | None
    requested_by: str | None
    acted_by: str | None


@query
def detail(session: Session, *, store_id: int, transfer_id: int) -> Detail:
    """A transfer request as one of its two stores sees it; NotFound for any other store."""
    transfer = session.get(TransferRequest, transfer_id)
    if transfer is None or store_id not in (transfer.from_store_id, transfer.to_store_id):
        raise errors.NotFound(what="Transfer request", key=transfer_id)
    product = session.get(Product, transfer.product_id)
    origin, destination = session.get(Location, transfer.from_store_id), session.get(Location, transfer.to_store_id)
    balance = session.get(StockBalance, (origin.id, product.id))
    incoming = transfer.from_store_id == store_id
    serials = []
    if incoming and product.serialised and transfer.status == TransferStatus.requested:
        serials = list(session.execute(
            select(SerialUnit.serial).where(SerialUnit.location_id == origin.id, SerialUnit.product_id == product.id,
                                            SerialUnit.state == SerialState.in_stock)
            .order_by(SerialUnit.serial)).scalars())
    names = dict(session.execute(select(User.id, User.name).where(
        User.id.in_([i for i in (transfer.requested_by, transfer.acted_by) if i is not None]))).all())
    return Detail(
        request=transfer, product=product, origin=origin, destination=destination, incoming=incoming,
        on_hand_at_origin=balance.on_hand if balance else 0, serials_at_origin=serials,
        shipment=session.get(Shipment, transfer.shipment_id) if transfer.shipment_id else None,
        requested_by=names.get(transfer.requested_by), acted_by=names.get(transfer.acted_by))


@dataclass(frozen=True)
class Holder:
    code: str
    name: str
    city: str  # in Chinese where known (`city_zh`), else the English name
    on_hand: int
    distance: int  # 0 same city, 1 same province, 2 elsewhere in the same market


@query
def stores_with_stock(session: Session, *, sku: str, exclude_store_id: int, limit: int = 10) -> list[Holder]:
    """Other active stores holding the SKU where a transfer could come from, nearest first: the same city,
    then the same province, then the rest of the market, most units first within each. Stores across the
    border between the mainland and Hong Kong (another `market`) are not offered."""
    here = session.get(Location, exclude_store_id)
    if here is None:
        return []
    distance = case((Location.city == here.city, 0), (Location.province == here.province, 1), else_=2)
    rows = session.execute(
        select(Location.code, Location.name, Location.city, Location.city_zh, StockBalance.on_hand,
               distance.label("distance"))
        .join(StockBalance, StockBalance.location_id == Location.id)
        .join(Product, Product.id == StockBalance.product_id)
        .where(Product.sku == sku, Location.kind == LocationKind.store, Location.status == "active",
               Location.market == here.market, Location.id != exclude_store_id, StockBalance.on_hand > 0)
        .order_by(distance, StockBalance.on_hand.desc(), Location.code).limit(limit)
    ).all()
    return [Holder(r.code, r.name, r.city_zh or r.city, r.on_hand, r.distance) for r in rows]
