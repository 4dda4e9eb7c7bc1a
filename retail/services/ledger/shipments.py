"""Transfers between locations (warehouse to store, store to store) and their receipt.

Shipping posts a transfer_out at the origin and raises in-transit stock at the destination;
receiving posts a transfer_in for what arrived and clears in-transit for what was shipped.
A shortfall or surplus is kept on the shipment line as a discrepancy and audited.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from retail import errors
from retail.models import MovementKind, Product, SerialState, Shipment, ShipmentLine, ShipmentStatus, utcnow
from retail.services import audit
from retail.services.ledger.postings import (
    change_balance,
    check_quantity,
    location_by_id,
    move_serials,
    normalise_serials,
    post_movement,
    product_by_sku,
)


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    serials: Sequence[str] = field(default_factory=tuple)


def ship(
    session: Session, *, from_location_id: int, to_location_id: int, lines: Sequence[Line], reference: str,
    expected_at: datetime | None = None, actor_id: int | None = None, at: datetime | None = None,
) -> Shipment:
    origin = location_by_id(session, from_location_id)
    destination = location_by_id(session, to_location_id)
    if not lines:
        raise errors.InvalidQuantity(quantity=0)
    if session.execute(select(Shipment.id).where(Shipment.reference == reference)).first() is not None:
        raise errors.DuplicateReference(reference=reference)
    shipped_at = at or utcnow()
    shipment = Shipment(reference=reference, from_location_id=origin.id, to_location_id=destination.id,
                        shipped_at=shipped_at, expected_at=expected_at)
    session.add(shipment)
    session.flush()
    for line in lines:
        quantity = check_quantity(line.quantity)
        product = product_by_sku(session, line.sku)
        serials = normalise_serials(product, quantity, line.serials)
        move_serials(session, product=product, serials=serials, from_location=origin,
                     from_states=[SerialState.in_stock], to_location=destination, to_state=SerialState.in_transit)
        post_movement(session, location=origin, product=product, kind=MovementKind.transfer_out,
                      quantity=-quantity, serials=serials, reference=reference, actor_id=actor_id, at=shipped_at)
        change_balance(session, location=destination, product=product, in_transit=quantity)
        session.add(ShipmentLine(shipment_id=shipment.id, product_id=product.id, quantity=quantity,
                                 serials=list(serials) or None))
    return shipment


def receive(
    session: Session, *, shipment_id: int, received: Mapping[str, int], actor_id: int | None = None,
    at: datetime | None = None,
) -> Shipment:
    """Receive a shipment line by line. `received` maps SKU to the units counted on arrival;
    a SKU left out counts as fully received. Receiving twice is refused."""
    shipment = session.get(Shipment, shipment_id)
    if shipment is None:
        raise errors.NotFound(what="Shipment", key=shipment_id)
    # Claim the shipment atomically: of two concurrent receipts, only one flips the status.
    claimed = session.execute(
        update(Shipment).where(Shipment.id == shipment.id, Shipment.status == ShipmentStatus.in_transit)
        .values(status=ShipmentStatus.received, received_at=at or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(shipment)
        raise errors.ShipmentClosed(reference=shipment.reference, status=shipment.status)
    destination = location_by_id(session, shipment.to_location_id, must_be_active=False)
    discrepancies = {}
    lines = session.execute(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment.id)).scalars().all()
    for line in lines:
        product = session.get(Product, line.product_id)
        got = received.get(product.sku, line.quantity)
        if isinstance(got, bool) or not isinstance(got, int) or got < 0:
            raise errors.InvalidQuantity(quantity=got)
        line.received_quantity = got
        change_balance(session, location=destination, product=product, in_transit=-line.quantity)
        serials = list(line.serials or [])
        if serials:
            # Units that did not arrive stay in transit on the shipment until found or written off.
            arrived = serials[:got]
            move_serials(session, product=product, serials=arrived, from_location=destination,
                         from_states=[SerialState.in_transit], to_location=destination,
                         to_state=SerialState.in_stock)
        else:
            arrived = []
        if got:
            post_movement(session, location=destination, product=product, kind=MovementKind.transfer_in,
                          quantity=got, serials=arrived, reference=shipment.reference, actor_id=actor_id,
                          at=at)
        if got != line.quantity:
            discrepancies[product.sku] = {"shipped": line.quantity, "received": got}
    if discrepancies:
        audit.record(session, actor_id=actor_id, action="shipment.discrepancy", entity="shipment",
                     entity_id=shipment.reference, detail=discrepancies)
    session.refresh(shipment)
    return shipment
