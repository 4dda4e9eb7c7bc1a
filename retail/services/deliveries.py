"""Deliveries to a store (from its DC, or another store's transfer): the open ones, and receiving one.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from retail import errors
from retail.clock import as_utc
from retail.models import Location, Product, Shipment, ShipmentLine, ShipmentStatus, User
from retail.services import ledger
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
def receive(session: Session, actor: User, *, store_id: int, shipment_id: int, received: Mapping[str, int],
            at: datetime | None = None) -> Shipment:
    """The store signs for a delivery addressed to it, line by line (`received`: SKU -> units counted;
    a SKU left out counts as fully received). Another store's delivery is NotFound; receiving twice is
    refused (ShipmentClosed)."""
    shipment = session.get(Shipment, shipment_id)
    if shipment is None or shipment.to_location_id != store_id:
        raise errors.NotFound(what="Shipment", key=shipment_id)
    return ledger.receive(session, shipment_id=shipment.id, received=received, actor_id=actor.id, at=at)


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
    """A shipment on its way to this store, with (line, product) pairs; NotFound for anyone else's."""
    shipment = session.get(Shipment, shipment_id)
    if shipment is None or shipment.to_location_id != store_id:
        raise errors.NotFound(what="Shipment", key=shipment_id)
    lines = session.execute(
        select(ShipmentLine, Product).join(Product, Product.id == ShipmentLine.product_id)
        .where(ShipmentLine.shipment_id == shipment.id).order_by(Product.sku)
    ).all()
    return shipment, [tuple(row) for row in lines]
