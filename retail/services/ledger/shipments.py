"""Transfers between locations (warehouse to store, store to store) and their receipt.

Shipping posts a transfer_out at the origin and raises in-transit stock at the destination;
receiving posts a transfer_in for what arrived, never more than was shipped, and clears in-transit for
what was shipped. A shortfall is kept on the shipment line as a discrepancy (serials not scanned stay in
transit, missing); a surplus is held on the line, not stock, until a manager, planner or admin accepts it
(a transfer_in) or refuses it (it stays a discrepancy). Both are audited.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from retail import errors, parsing
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


SURPLUS_HELD, SURPLUS_ACCEPTED, SURPLUS_REFUSED = "held", "accepted", "refused"


@dataclass(frozen=True)
class _Receipt:
    line: ShipmentLine
    product: Product
    posted: int                  # units that go into stock: never more than shipped
    surplus: int                 # units counted beyond the shipped quantity: held, not stock
    arrived: list[str]           # serials that go into stock
    missing: list[str]           # serials shipped, not scanned: they stay in transit


def _counted(sku: str, received: Mapping[str, int]) -> int | None:
    if sku not in received:
        return None
    got = received[sku]
    if isinstance(got, bool) or not isinstance(got, int):
        raise errors.InvalidQuantity(quantity=parsing.shown(got))
    return parsing.count(got, field="received", required=True)


def _plan(line: ShipmentLine, product: Product, reference: str, received: Mapping[str, int],
          scans: Mapping[str, Sequence[str]] | None) -> _Receipt:
    """What one line's receipt writes, decided before anything is written."""
    counted = _counted(product.sku, received)
    shipped = list(line.serials or [])
    scanned = parsing.serials((scans or {}).get(product.sku))
    if not product.serialised:
        if scanned:
            raise errors.SerialNotShipped(serial=parsing.shown(scanned[0]), sku=product.sku, reference=reference)
        got = line.quantity if counted is None else counted
        return _Receipt(line, product, posted=min(got, line.quantity), surplus=max(got - line.quantity, 0),
                        arrived=[], missing=[])
    if scanned:
        on_line = set(shipped)
        for serial in scanned:
            if serial not in on_line:
                raise errors.SerialNotShipped(serial=parsing.shown(serial), sku=product.sku, reference=reference)
        if counted is not None and counted != len(scanned):
            raise errors.ScanArrivedSerials(sku=product.sku, counted=counted, scanned=len(scanned))
        arrived = set(scanned)
    elif counted == 0:
        arrived = set()
    elif scans is None and counted in (None, line.quantity):
        arrived = set(shipped)  # no scan box (replenishment, API): the whole line, or nothing
    else:
        raise errors.ScanArrivedSerials(sku=product.sku, counted=line.quantity if counted is None else counted,
                                        scanned=0)
    return _Receipt(line, product, posted=len(arrived), surplus=0, arrived=[s for s in shipped if s in arrived],
                    missing=[s for s in shipped if s not in arrived])


def receive(
    session: Session, *, shipment_id: int, received: Mapping[str, int] | None = None,
    serials: Mapping[str, Sequence[str]] | None = None, actor_id: int | None = None, at: datetime | None = None,
) -> Shipment:
    """Receive a shipment line by line, never more than was shipped. Receiving twice is refused.

    `received` maps SKU to the units counted on arrival (0 to `parsing.MAX_QUANTITY`); a SKU left out
    counts as exactly what was shipped. `serials` maps SKU to the serials scanned on arrival; None when
    the receiving page had no scan box (a replenishment order received whole, the API).

    - A line without serials posts min(counted, shipped); units counted beyond the shipped quantity are
      the line's `surplus`, held (not stock) until a manager, planner or admin decides (`decide_surplus`).
    - A serialised line posts exactly the serials scanned, each one shipped on that line (otherwise
      SerialNotShipped); a count given with scans must equal their number. Without scans: a count of 0
      means none arrived; the whole line arrives only when there was no scan box (`serials` None) and the
      count is left out or equals the shipped quantity; anything else is refused (ScanArrivedSerials).
      A serialised line never holds a surplus: a unit that was not shipped has no place in the register.
    - Serials shipped but not scanned stay `in_transit` (missing), listed in the discrepancy audit.
    Every line is judged before anything is written; a refusal writes nothing."""
    shipment = session.get(Shipment, shipment_id)
    if shipment is None:
        raise errors.NotFound(what="Shipment", key=shipment_id)
    received = received or {}
    if shipment.status != ShipmentStatus.in_transit:  # said first; the claim below decides a race
        raise errors.ShipmentClosed(reference=shipment.reference, status=shipment.status)
    rows = session.execute(
        select(ShipmentLine, Product).join(Product, Product.id == ShipmentLine.product_id)
        .where(ShipmentLine.shipment_id == shipment.id).order_by(Product.sku)
    ).all()
    on_shipment = {product.sku for _line, product in rows}
    for sku in [*received, *(serials or {})]:
        if sku not in on_shipment:
            raise errors.NotOnShipment(sku=parsing.shown(sku), reference=shipment.reference)
    plans = [_plan(line, product, shipment.reference, received, serials) for line, product in rows]
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
    for plan in plans:
        line, product = plan.line, plan.product
        line.received_quantity = plan.posted
        line.surplus = plan.surplus
        line.surplus_status = SURPLUS_HELD if plan.surplus else None
        line.received_serials = plan.arrived if product.serialised else None
        change_balance(session, location=destination, product=product, in_transit=-line.quantity)
        if plan.arrived:
            move_serials(session, product=product, serials=plan.arrived, from_location=destination,
                         from_states=[SerialState.in_transit], to_location=destination,
                         to_state=SerialState.in_stock)
        if plan.posted:
            post_movement(session, location=destination, product=product, kind=MovementKind.transfer_in,
                          quantity=plan.posted, serials=plan.arrived, reference=shipment.reference,
                          actor_id=actor_id, at=at)
        if plan.posted != line.quantity or plan.surplus:
            detail = {"shipped": line.quantity, "received": plan.posted}
            if plan.surplus:
                detail["surplus_held"] = plan.surplus
            if plan.missing:
                detail["missing"] = plan.missing
            discrepancies[product.sku] = detail
    session.flush()
    if discrepancies:
        audit.record(session, actor_id=actor_id, action="shipment.discrepancy", entity="shipment",
                     entity_id=shipment.reference, detail=discrepancies)
    session.refresh(shipment)
    return shipment


def decide_surplus(session: Session, *, shipment_id: int, sku: str, accept: bool, actor_id: int | None = None,
                   at: datetime | None = None) -> ShipmentLine:
    """Decide a held surplus once (a conditional UPDATE: of two decisions, one wins). Accepted, it is
    posted as a transfer_in at the destination; refused, it stays on the line as a discrepancy."""
    shipment = session.get(Shipment, shipment_id)
    if shipment is None:
        raise errors.NotFound(what="Shipment", key=shipment_id)
    row = session.execute(
        select(ShipmentLine, Product).join(Product, Product.id == ShipmentLine.product_id)
        .where(ShipmentLine.shipment_id == shipment.id, Product.sku == sku)
    ).first()
    if row is None:
        raise errors.NotOnShipment(sku=parsing.shown(sku), reference=shipment.reference)
    line, product = row
    decided = session.execute(
        update(ShipmentLine).where(ShipmentLine.id == line.id, ShipmentLine.surplus_status == SURPLUS_HELD,
                                   ShipmentLine.surplus > 0)
        .values(surplus_status=SURPLUS_ACCEPTED if accept else SURPLUS_REFUSED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if decided != 1:
        raise errors.SurplusDecided(sku=product.sku, reference=shipment.reference)
    session.refresh(line)
    destination = location_by_id(session, shipment.to_location_id)
    if accept:
        post_movement(session, location=destination, product=product, kind=MovementKind.transfer_in,
                      quantity=line.surplus, reference=shipment.reference, actor_id=actor_id,
                      note="surplus accepted", at=at)
    audit.record(session, actor_id=actor_id, action=f"shipment.surplus_{line.surplus_status}", entity="shipment",
                 entity_id=shipment.reference, detail={"sku": product.sku, "surplus": line.surplus})
    return line
