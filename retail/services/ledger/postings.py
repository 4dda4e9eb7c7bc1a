"""The stock ledger's one write path: a movement row and its balance change, in one transaction.

Every decrement is a conditional UPDATE (`... WHERE on_hand + :delta >= reserved`): the database
refuses to oversell, also when several workers race for the last unit, on PostgreSQL and
on SQLite alike. No Python lock, no read-modify-write. Units held for a customer order
(`reserved`, services/customer_orders.py) are not sellable: a sale, a shipment, a transfer or a
move to display leaves them; only what states a fact (a count, a write-off) may go below them.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from retail import errors, parsing
from retail.models import (
    Location,
    LocationStatus,
    Movement,
    MovementKind,
    MovementSerial,
    Product,
    SerialUnit,
    StockBalance,
    utcnow,
)
from retail.services.products import by_sku_or_barcode as product_by_sku  # noqa: F401 (re-exported)


def location_by_id(session: Session, location_id: int, *, must_be_active: bool = True) -> Location:
    location = session.get(Location, location_id)
    if location is None:
        raise errors.UnknownLocation(location=location_id)
    if must_be_active and location.status != LocationStatus.active:
        raise errors.LocationInactive(location=location.code, status=location.status)
    return location


def check_quantity(quantity) -> int:
    """A number of units: an int of at least 1 and within `retail.parsing.quantity`'s bounds (adapters
    parse what people type; the ledger takes numbers only)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise errors.InvalidQuantity(quantity=parsing.shown(quantity))
    return parsing.quantity(quantity, required=True)


def _ensure_balance_row(session: Session, location_id: int, product_id: int) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(StockBalance).values(
        location_id=location_id, product_id=product_id, on_hand=0, demo=0, in_transit=0, reserved=0,
        updated_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["location_id", "product_id"])
    session.execute(stmt)


# Movements that state a fact about the shelf: they may take sellable stock below what is held for customers.
FACTS = frozenset({MovementKind.count_adjustment, MovementKind.write_off})


def change_balance(
    session: Session, *, location: Location, product: Product, on_hand: int = 0, demo: int = 0, in_transit: int = 0,
    keep_reserved: bool = True,
) -> None:
    """Add the deltas to the balance, or raise InsufficientStock if any would go below zero, or (with
    `keep_reserved`, the default) if on hand would go below the units held for customer orders."""
    _ensure_balance_row(session, location.id, product.id)
    b = StockBalance.__table__.c
    floor = b.reserved if keep_reserved and on_hand < 0 else 0
    result = session.execute(
        update(StockBalance)
        .where(b.location_id == location.id, b.product_id == product.id)
        .where(b.on_hand + on_hand >= floor, b.demo + demo >= 0, b.in_transit + in_transit >= 0)
        .values(on_hand=b.on_hand + on_hand, demo=b.demo + demo, in_transit=b.in_transit + in_transit,
                updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        current = session.execute(
            select(b.on_hand, b.demo, b.reserved).where(b.location_id == location.id, b.product_id == product.id)
        ).one()
        free = current.on_hand - (current.reserved if keep_reserved else 0)
        available = current.demo if demo < 0 else max(free, 0)
        requested = -(demo if demo < 0 else on_hand)
        raise errors.InsufficientStock(sku=product.sku, location=location.code, available=available,
                                       requested=requested)


def post_movement(
    session: Session,
    *,
    location: Location,
    product: Product,
    kind: str,
    quantity: int,
    demo: int = 0,
    in_transit: int = 0,
    serials: Sequence[str] = (),
    unit_price: Decimal | None = None,
    currency: str | None = None,
    reference: str | None = None,
    actor_id: int | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> Movement:
    """Append one movement and apply it to the balance. Does not commit: callers own the transaction."""
    change_balance(session, location=location, product=product, on_hand=quantity, demo=demo,
                   in_transit=in_transit, keep_reserved=kind not in FACTS)
    movement = Movement(
        ts=at or utcnow(), location_id=location.id, product_id=product.id, kind=kind, quantity=quantity,
        unit_price=unit_price, currency=currency if unit_price is not None else None, reference=reference,
        actor_id=actor_id, note=note,
    )
    session.add(movement)
    session.flush()
    for serial in serials:
        session.add(MovementSerial(movement_id=movement.id, serial=serial))
    return movement


def clean_serials(serials: Sequence[str] | str | None) -> list[str]:
    """Serials as scanned, bounded and de-duplicated (`retail.parsing.serials`)."""
    return parsing.serials(serials)


def normalise_serials(product: Product, quantity: int, serials: Sequence[str]) -> list[str]:
    """One distinct serial per unit for a serialised product; none for the others."""
    if not product.serialised:
        return []
    cleaned = [s.strip() for s in serials if s and s.strip()]
    if len(cleaned) != quantity or len(set(cleaned)) != len(cleaned):
        raise errors.SerialsRequired(sku=product.sku, quantity=quantity, given=len(set(cleaned)))
    return cleaned


def move_serials(
    session: Session, *, product: Product, serials: Sequence[str], from_location: Location | None,
    from_states: Sequence[str], to_location: Location | None, to_state: str,
) -> None:
    """Move serial units, each only if it is where and as the caller says (a conditional update)."""
    s = SerialUnit.__table__.c
    for serial in serials:
        where = [s.serial == serial, s.product_id == product.id, s.state.in_(list(from_states))]
        if from_location is not None:
            where.append(s.location_id == from_location.id)
        result = session.execute(
            update(SerialUnit).where(*where)
            .values(state=to_state, location_id=to_location.id if to_location else None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # where the unit is, if anywhere, is not told (SerialNotHere)
            raise errors.SerialNotHere(serial=serial)


def create_serials(session: Session, *, product: Product, serials: Sequence[str], location: Location,
                   state: str) -> None:
    existing = session.execute(select(SerialUnit.serial).where(SerialUnit.serial.in_(list(serials)))).first()
    if existing is not None:
        raise errors.DuplicateSerial(serial=existing[0])
    for serial in serials:
        session.add(SerialUnit(serial=serial, product_id=product.id, location_id=location.id, state=state))
    session.flush()


def serials_at(session: Session, *, location: Location, product: Product, states: Sequence[str],
               lock: bool = False) -> list[str]:
    """The serials of a product the register holds at a location in the given states, in serial order.

    `lock` takes their row locks (PostgreSQL), in the order every other verb takes them: serial units
    before the balance row."""
    s = SerialUnit.__table__.c
    query = (select(s.serial).where(s.location_id == location.id, s.product_id == product.id,
                                    s.state.in_(list(states))).order_by(s.serial))
    if lock:
        query = query.with_for_update()
    return list(session.execute(query).scalars())


def serial_rows(session: Session, serials: Sequence[str]) -> dict:
    """The register's row of each serial (fresh from the database, not the session's identity map)."""
    if not serials:
        return {}
    s = SerialUnit.__table__.c
    rows = session.execute(select(s.serial, s.product_id, s.location_id, s.state).where(s.serial.in_(list(serials))))
    return {row.serial: row for row in rows}


def last_movement_of_serial(session: Session, serial: str, *, kind: str | None = None) -> Movement | None:
    """The latest movement recorded for a serial (of one kind if given). Latest by insertion: the movement
    that put a unit in its current state is the last one written, whatever its `ts` (imports backdate)."""
    query = (select(Movement).join(MovementSerial, MovementSerial.movement_id == Movement.id)
             .where(MovementSerial.serial == serial))
    if kind is not None:
        query = query.where(Movement.kind == kind)
    return session.execute(query.order_by(Movement.id.desc()).limit(1)).scalars().first()


def last_sale_of_serial(session: Session, serial: str) -> Movement | None:
    """The sale that sold a serial unit last: where it was sold, and so where it may come back."""
    return last_movement_of_serial(session, serial, kind=MovementKind.sale)
