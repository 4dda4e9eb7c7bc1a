"""Deliveries to a store (from its DC, or another store's transfer): the open ones, and receiving one.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from retail import errors, parsing
from retail.clock import as_utc
from retail.models import Location, Product, Shipment, ShipmentLine, ShipmentStatus, User
from retail.services import access, ledger
from retail.services.ledger import shipments as shipping
from retail.services.verbs import STORE, query, verb


@dataclass(frozen=True)
class Delivery:
    id: int
    reference: str
    shipped_at: datetime
    expected_at: datetime | None
    lines: int
    units: int
    origin: str | None = None  # the code of the warehouse or store it comes from


@verb(STORE)
def receive(session: Session, actor: User, *, store_id: int, shipment_id: int,
            received: Mapping[str, int] | None = None, serials: Mapping[str, Sequence[str]] | None = None,
            at: datetime | None = None) -> Shipment:
    """The store signs for a delivery addressed to it, line by line, never for more than was shipped.

    `received`: SKU -> units counted (0 to `parsing.MAX_QUANTITY`; a SKU left out counts as shipped).
    `serials`: SKU -> the serials scanned on arrival, given when the page had a scan box (the store's
    receive page always has one for serialised lines): exactly those go into stock, each must have been
    shipped on that line, and a serialised line with no scan arrives only with an explicit count of 0.
    Units counted beyond the shipped quantity are held on the line as a surplus, not stock, until
    `decide_surplus`. Another store's delivery is NotFound; receiving twice is refused (ShipmentClosed)."""
    shipment = session.get(Shipment, shipment_id)
    if shipment is None or shipment.to_location_id != store_id:
        raise errors.NotFound(what="Shipment", key=shipment_id)
    received = dict(received or {})
    if len(received) > parsing.MAX_LINES or len(serials or {}) > parsing.MAX_LINES:
        raise errors.TooMany(field="received", limit=parsing.MAX_LINES)
    scanned = None if serials is None else {sku: parsing.serials(value) for sku, value in serials.items()}
    return ledger.receive(session, shipment_id=shipment.id, received=received, serials=scanned,
                          actor_id=actor.id, at=at)


def may_decide_surplus(user: User, store_id: int) -> bool:
    """A held surplus is decided by the store's manager, a planner or an admin (not by who counted it)."""
    return access.may_approve_counts(user, store_id) or access.may_pick_any_store(user)


@verb(STORE)
def decide_surplus(session: Session, actor: User, *, store_id: int, shipment_id: int, sku: str,
                   accept: bool) -> ShipmentLine:
    """A surplus held on a delivery of this store, decided once by the store's manager, a planner or an
    admin: accepted, it is posted as stock (a transfer_in); refused, it stays recorded as a discrepancy."""
    if not may_decide_surplus(actor, store_id):
        raise errors.Forbidden(what="surplus")
    if not isinstance(accept, bool):
        raise errors.InvalidValue(field="decision", value=parsing.shown(accept))
    shipment = session.get(Shipment, shipment_id)
    if shipment is None or shipment.to_location_id != store_id:
        raise errors.NotFound(what="Shipment", key=shipment_id)
    return shipping.decide_surplus(session, shipment_id=shipment.id, sku=parsing.sku(sku), accept=accept,
                                   actor_id=actor.id)


@dataclass(frozen=True)
class HeldSurplus:
    shipment_id: int
    reference: str
    sku: str
    shipped: int
    received: int
    surplus: int
    received_at: datetime | None


@query
def held_surpluses(session: Session, *, store_id: int) -> list[HeldSurplus]:
    """Surpluses counted on this store's deliveries that wait for a decision, oldest first."""
    rows = session.execute(
        select(Shipment.id, Shipment.reference, Product.sku, ShipmentLine.quantity, ShipmentLine.received_quantity,
               ShipmentLine.surplus, Shipment.received_at)
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .join(Product, Product.id == ShipmentLine.product_id)
        .where(Shipment.to_location_id == store_id, ShipmentLine.surplus_status == shipping.SURPLUS_HELD)
        .order_by(Shipment.received_at, Shipment.id, Product.sku)
    ).all()
    return [HeldSurplus(r[0], r[1], r[2], r[3], r[4] or 0, r[5], as_utc(r[6])) for r in rows]


@query
def open_deliveries(session: Session, *, store_id: int) -> list[Delivery]:
    """Shipments on their way to this store, from a warehouse or from another store (transfers)."""
    line = ShipmentLine.__table__.c
    origin = Location.__table__.alias("origin")
    rows = session.execute(
        select(Shipment.id, Shipment.reference, Shipment.shipped_at, Shipment.expected_at,
               func.count(line.id), func.coalesce(func.sum(line.quantity), 0), origin.c.code)
        .join(ShipmentLine, line.shipment_id == Shipment.id)
        .outerjoin(origin, origin.c.id == Shipment.from_location_id)
        .where(Shipment.to_location_id == store_id, Shipment.status == ShipmentStatus.in_transit)
        .group_by(Shipment.id, Shipment.reference, Shipment.shipped_at, Shipment.expected_at, origin.c.code)
        .order_by(Shipment.shipped_at)
    ).all()
    return [Delivery(r[0], r[1], as_utc(r[2]), as_utc(r[3]), r[4], int(r[5]), r[6]) for r in rows]


@query
def open_delivery(session: Session, *, store_id: int, shipment_id: int) -> tuple[Shipment, list[tuple]]:
    """A shipment addressed to this store (on its way or received), with (line, product) pairs; NotFound
    for anyone else's."""
    shipment = session.get(Shipment, shipment_id)
    if shipment is None or shipment.to_location_id != store_id:
        raise errors.NotFound(what="Shipment", key=shipment_id)
    lines = session.execute(
        select(ShipmentLine, Product).join(Product, Product.id == ShipmentLine.product_id)
        .where(ShipmentLine.shipment_id == shipment.id).order_by(Product.sku)
    ).all()
    return shipment, [tuple(row) for row in lines]
