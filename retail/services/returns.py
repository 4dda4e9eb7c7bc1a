"""Customer returns, always linked to the sale they undo.

One verb for every entry point (the return form, a POS import row, the API): a return names its sale by
the serials scanned, by the sale's number, or by the till's receipt (the `reference` the sale was
recorded with at this store). A sale is never returned beyond what it sold, and only at its store.
Each return movement carries `reference = SALE-<id>` of its sale and the sale's price.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from retail import errors, parsing
from retail.models import Movement, MovementKind, MovementSerial, Product, SerialState, SerialUnit, User
from retail.services import ledger, products
from retail.services.ledger.postings import check_quantity, clean_serials, last_sale_of_serial
from retail.services.verbs import STORE, query, verb


def sale_reference(sale_id: int) -> str:
    return f"SALE-{sale_id}"


@query
def returned_against(session: Session, sale_id: int) -> int:
    """Units already returned against a sale."""
    return session.execute(select(func.coalesce(func.sum(Movement.quantity), 0)).where(
        Movement.kind == MovementKind.return_, Movement.reference == sale_reference(sale_id))).scalar_one()


def _sale_here(session: Session, store_id: int, sale_id: int) -> Movement:
    """The sale, locked against a concurrent return of the same units (PostgreSQL row lock; SQLite
    transactions are serialised). Another store's sale is not found from this one."""
    sale = session.execute(select(Movement).where(Movement.id == sale_id).with_for_update()).scalars().first()
    if sale is None or sale.kind != MovementKind.sale or sale.location_id != store_id:
        raise errors.NotFound(what="Sale", key=sale_id)
    return sale


def _by_serials(session: Session, store_id: int, serials: list[str], sale_id: int | None) -> dict[int, list[str]]:
    """Each serial's sale: a unit sold by this store (by the sale named, when one is). Anything else, whatever
    the unit is elsewhere, is the one refusal SerialNotHere: a store learns nothing of other stores' units."""
    groups: dict[int, list[str]] = {}
    for serial in serials:
        unit = session.get(SerialUnit, serial)
        sale = last_sale_of_serial(session, serial) if unit is not None and unit.state == SerialState.sold else None
        if sale is None or sale.location_id != store_id or (sale_id is not None and sale.id != sale_id):
            raise errors.SerialNotHere(serial=serial)
        groups.setdefault(sale.id, []).append(serial)
    return groups


def _by_receipt(session: Session, store_id: int, receipt: str, sku: str | None) -> list[int]:
    """The sales recorded at this store with the till's receipt (of the SKU, when given), oldest first."""
    query = select(Movement.id).where(Movement.location_id == store_id, Movement.kind == MovementKind.sale,
                                      Movement.reference == receipt)
    if sku:
        query = query.where(Movement.product_id == products.by_sku_or_barcode(session, sku).id)
    found = list(session.execute(query.order_by(Movement.id)).scalars())
    if not found:
        raise errors.NotFound(what="Sale", key=receipt)
    return found


def _unreturned_serials(session: Session, sale_id: int) -> list[str]:
    return [s for (s,) in session.execute(
        select(MovementSerial.serial).join(SerialUnit, SerialUnit.serial == MovementSerial.serial)
        .where(MovementSerial.movement_id == sale_id, SerialUnit.state == SerialState.sold)
        .order_by(MovementSerial.serial))]


@verb(STORE)
def record_return(session: Session, actor: User, *, store_id: int, serials: Sequence[str] | str = (),
                  sale_id: int | None = None, receipt: str | None = None, sku: str | None = None,
                  quantity: int | None = None, at: datetime | None = None) -> list[Movement]:
    """A customer brings units back. Identified by serials (each returns against the sale that sold it),
    or by the sale's number, or by the receipt of sales at this store (with `sku` to pick the line);
    without serials, `quantity` units (default: all not yet returned)."""
    serials = clean_serials(serials)
    if quantity is not None:
        quantity = check_quantity(quantity)
    receipt = parsing.reference(receipt, field="receipt")
    if not serials and sale_id is None and receipt is None:
        raise errors.MissingValue(field="serials")
    if serials:
        plan = [(sid, group, len(group)) for sid, group in _by_serials(session, store_id, serials, sale_id).items()]
    else:
        plan = _plan_by_quantity(session, store_id, [sale_id] if sale_id is not None else
                                 _by_receipt(session, store_id, receipt, sku), quantity,
                                 label=sale_id if sale_id is not None else receipt)
    movements = []
    for sid, group, wanted in plan:
        # The sale row locked before what was returned against it is read: a concurrent return of the same
        # units waits here, then reads this one's (PostgreSQL; SQLite transactions are serialised).
        sale = _sale_here(session, store_id, sid)
        product = session.get(Product, sale.product_id)
        sold, returned = -sale.quantity, returned_against(session, sid)
        if wanted < 1 or returned + wanted > sold:
            raise errors.ReturnExceedsSale(sale=sid, sold=sold, returned=returned, requested=wanted)
        if not group and product.serialised:
            group = _unreturned_serials(session, sid)[:wanted]
        movements.append(ledger.record_return(
            session, store_id=store_id, sku=product.sku, quantity=wanted, serials=group,
            unit_price=sale.unit_price, reference=sale_reference(sid), actor_id=actor.id, at=at))
    return movements


def _plan_by_quantity(session: Session, store_id: int, sale_ids: list[int], quantity: int | None,
                      *, label) -> list[tuple[int, list[str], int]]:
    """Spread `quantity` units (all that remain when None) over the sales, oldest first; more than the
    sales have left is ReturnExceedsSale for the whole request."""
    remaining = []
    for sid in sale_ids:
        sale = _sale_here(session, store_id, sid)
        remaining.append((sid, -sale.quantity, returned_against(session, sid)))
    sold, returned = sum(r[1] for r in remaining), sum(r[2] for r in remaining)
    wanted = quantity if quantity is not None else sold - returned
    if wanted < 1 or returned + wanted > sold:
        raise errors.ReturnExceedsSale(sale=label, sold=sold, returned=returned, requested=wanted)
    plan = []
    for sid, s, r in remaining:
        take = min(wanted, s - r)
        if take > 0:
            plan.append((sid, [], take))
            wanted -= take
    return plan
