"""Goods shipped by a brand to a warehouse: a shipment with no origin (`from_location_id` NULL).

A brand's advance shipment notice puts its units in transit to the destination: serialised units are
registered here, `in_transit` at the destination (their serial numbers are new to the register: one that
exists is DuplicateSerial), and the destination's `in_transit` balance rises. No movement is posted:
nothing left a location of the network. Receiving goes through `shipments.receive` like any delivery
(it posts the transfer_in of what arrived and clears in-transit), which never reads the origin.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from retail import errors
from retail.models import SerialState, Shipment, ShipmentLine, utcnow
from retail.services.ledger.postings import (
    change_balance,
    check_quantity,
    create_serials,
    location_by_id,
    normalise_serials,
    product_by_sku,
)
from retail.services.ledger.shipments import Line


def ship_from_brand(
    session: Session, *, to_location_id: int, lines: Sequence[Line], reference: str,
    expected_at: datetime | None = None, at: datetime | None = None,
) -> Shipment:
    """A shipment from outside the network to `to_location_id`, its units in transit there.

    Each SKU once; a serialised SKU needs one new, distinct serial per unit (SerialsRequired), and a SKU
    without serials takes none (SerialsNotExpected). Does not commit."""
    destination = location_by_id(session, to_location_id)
    if not lines:
        raise errors.InvalidQuantity(quantity=0)
    if session.execute(select(Shipment.id).where(Shipment.reference == reference)).first() is not None:
        raise errors.DuplicateReference(reference=reference)
    shipment = Shipment(reference=reference, from_location_id=None, to_location_id=destination.id,
                        shipped_at=at or utcnow(), expected_at=expected_at)
    session.add(shipment)
    session.flush()
    seen: set[int] = set()
    for line in lines:
        quantity = check_quantity(line.quantity)
        product = product_by_sku(session, line.sku)
        if product.id in seen:
            raise errors.InvalidValue(field="sku", value=product.sku)
        seen.add(product.id)
        if not product.serialised and any(s and s.strip() for s in line.serials):
            raise errors.SerialsNotExpected(sku=product.sku)
        serials = normalise_serials(product, quantity, line.serials)
        if serials:
            create_serials(session, product=product, serials=serials, location=destination,
                           state=SerialState.in_transit)
        change_balance(session, location=destination, product=product, in_transit=quantity)
        session.add(ShipmentLine(shipment_id=shipment.id, product_id=product.id, quantity=quantity,
                                 serials=list(serials) or None))
    session.flush()
    return shipment
