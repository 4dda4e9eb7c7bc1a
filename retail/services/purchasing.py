"""Purchase orders to the brands, their answers and advance shipment notices (see retail/models/purchasing.py).

- `orders_from_plan` (a job, called by `replenishment.plan`): a plan's purchase proposals become one
  purchase order per brand and warehouse, with a line per SKU. Idempotent: a plan already made into
  orders gets nothing twice (the order is unique per plan, brand and warehouse).
- `answer` (the brand): confirm a line (at most the proposed quantity) or reject it, once per line. The
  order is `answered` when no line is open.
- `notify_shipment` (the brand): an advance shipment notice against confirmed lines, with the serials of
  serialised units, puts the units in transit to the order's warehouse (`ledger.inbound.ship_from_brand`);
  the order is `closed` once answered and every confirmed unit is notified. The notice's reference is
  the brand's own (unique per brand): the same reference again is DuplicateReference and changes nothing.

Each write claims its rows with a conditional UPDATE (`... WHERE status = 'open'`, `... WHERE
notified_quantity + :n <= confirmed_quantity`): of two concurrent requests one wins, the other is refused.
Another brand's order or notice is NotFound.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, update
from sqlmodel import Session

from retail import errors, parsing
from retail.models import (
    Brand,
    Location,
    Product,
    PurchaseLineStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    PurchaseProposal,
    SerialUnit,
    Shipment,
    ShipmentLine,
    ShipmentNotice,
    User,
    utcnow,
)
from retail.services import audit, ledger
from retail.services.ledger.inbound import ship_from_brand
from retail.services.verbs import BRAND, job, query, verb

MAX_LINES = 500
MAX_NOTICE_REFERENCE = 40


@dataclass(frozen=True)
class Answer:
    sku: str
    confirmed_quantity: int | None = None  # None with reject=True
    reject: bool = False


@dataclass(frozen=True)
class NoticeLine:
    sku: str
    quantity: int
    serials: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class OrderLine:
    sku: str
    proposed: int
    status: str
    confirmed: int | None
    notified: int
    answered_at: datetime | None


@dataclass(frozen=True)
class OrderView:
    order: PurchaseOrder
    dc: str
    lines: list[OrderLine]


@dataclass(frozen=True)
class NoticeView:
    notice: ShipmentNotice
    order_reference: str
    shipment: Shipment
    dc: str
    lines: list[tuple[str, int, list[str]]]  # sku, quantity, serials


# ---------------------------------------------------------------- from the plan

@job
def orders_from_plan(session: Session, *, run_id: int) -> list[PurchaseOrder]:
    """The purchase orders of a replenishment run: one per brand and warehouse, made from its proposals the
    first time, nothing made again after. Joins the caller's transaction (plan commits)."""
    proposals = session.execute(select(PurchaseProposal).where(PurchaseProposal.run_id == run_id)
                                .order_by(PurchaseProposal.brand_id, PurchaseProposal.dc_id,
                                          PurchaseProposal.product_id)).scalars().all()
    made = {(o.brand_id, o.dc_id) for o in session.execute(
        select(PurchaseOrder).where(PurchaseOrder.run_id == run_id)).scalars()}
    groups: dict[tuple[int, int], list[PurchaseProposal]] = {}
    for proposal in proposals:
        if proposal.quantity > 0:
            groups.setdefault((proposal.brand_id, proposal.dc_id), []).append(proposal)
    brands = dict(session.execute(select(Brand.id, Brand.code)).all())
    dcs = dict(session.execute(select(Location.id, Location.code)).all())
    created = []
    for (brand_id, dc_id), rows in groups.items():
        if (brand_id, dc_id) in made:
            continue
        reference = _order_reference(run_id, brands.get(brand_id, str(brand_id)), dcs.get(dc_id, str(dc_id)))
        order = PurchaseOrder(reference=reference, run_id=run_id, brand_id=brand_id, dc_id=dc_id,
                              status=PurchaseOrderStatus.open, arrival_week=min(p.arrival_week for p in rows))
        session.add(order)
        session.flush()
        session.add_all([PurchaseOrderLine(order_id=order.id, product_id=p.product_id, proposal_id=p.id,
                                           quantity=p.quantity) for p in rows])
        created.append(order)
    session.flush()
    return created


def _order_reference(run_id: int, brand: str, dc: str) -> str:
    reference = f"PO-{run_id}-{brand}-{dc}"
    if len(reference) <= 32:
        return reference
    return f"PO-{run_id}-" + hashlib.sha256(f"{brand}|{dc}".encode()).hexdigest()[:32 - len(f"PO-{run_id}-")]


# ---------------------------------------------------------------- reads

def _brand_order(session: Session, brand_id: int, order_id: int) -> PurchaseOrder:
    order = session.get(PurchaseOrder, order_id) if _is_id(order_id) else None
    if order is None or order.brand_id != brand_id:
        raise errors.NotFound(what="Purchase order", key=parsing.shown(order_id))
    return order


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= parsing.MAX_INTEGER


@query
def orders(session: Session, *, brand_id: int, status: str | None = None, after_id: int | None = None,
           limit: int = 50) -> list[PurchaseOrder]:
    """The brand's purchase orders by id (newest last), from after `after_id`, `limit` of them."""
    statement = select(PurchaseOrder).where(PurchaseOrder.brand_id == brand_id).order_by(PurchaseOrder.id)
    if status:
        statement = statement.where(PurchaseOrder.status == status)
    if after_id is not None:
        statement = statement.where(PurchaseOrder.id > after_id)
    return list(session.execute(statement.limit(limit)).scalars())


@query
def order_lines(session: Session, *, order_ids: Sequence[int]) -> dict[int, list[OrderLine]]:
    """The lines of these orders, by SKU."""
    out: dict[int, list[OrderLine]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return out
    rows = session.execute(select(PurchaseOrderLine, Product.sku).join(Product, Product.id == PurchaseOrderLine.product_id)
                           .where(PurchaseOrderLine.order_id.in_(list(order_ids)))
                           .order_by(PurchaseOrderLine.order_id, Product.sku)).all()
    for line, sku in rows:
        out[line.order_id].append(OrderLine(sku=sku, proposed=line.quantity, status=line.status,
                                            confirmed=line.confirmed_quantity, notified=line.notified_quantity,
                                            answered_at=line.answered_at))
    return out


@query
def location_codes(session: Session, *, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Location.id, Location.code).where(Location.id.in_(list(set(ids))))).all())


@query
def order(session: Session, *, brand_id: int, order_id: int) -> OrderView:
    found = _brand_order(session, brand_id, order_id)
    return OrderView(found, location_codes(session, ids=[found.dc_id]).get(found.dc_id, ""),
                     order_lines(session, order_ids=[found.id])[found.id])


@query
def notices(session: Session, *, brand_id: int, order_id: int | None = None, after_id: int | None = None,
            limit: int = 50) -> list[ShipmentNotice]:
    statement = select(ShipmentNotice).where(ShipmentNotice.brand_id == brand_id).order_by(ShipmentNotice.id)
    if order_id is not None:
        statement = statement.where(ShipmentNotice.order_id == order_id)
    if after_id is not None:
        statement = statement.where(ShipmentNotice.id > after_id)
    return list(session.execute(statement.limit(limit)).scalars())


@query
def notice_views(session: Session, *, notices: Sequence[ShipmentNotice]) -> list[NoticeView]:
    """The notices with their order's reference, shipment (status, dates) and lines with serials."""
    if not notices:
        return []
    shipments = {s.id: s for s in session.execute(select(Shipment).where(
        Shipment.id.in_([n.shipment_id for n in notices]))).scalars()}
    references = dict(session.execute(select(PurchaseOrder.id, PurchaseOrder.reference).where(
        PurchaseOrder.id.in_([n.order_id for n in notices]))).all())
    lines: dict[int, list] = {}
    for line, sku in session.execute(
            select(ShipmentLine, Product.sku).join(Product, Product.id == ShipmentLine.product_id)
            .where(ShipmentLine.shipment_id.in_(list(shipments))).order_by(ShipmentLine.shipment_id, Product.sku)):
        lines.setdefault(line.shipment_id, []).append((sku, line.quantity, list(line.serials or [])))
    codes = location_codes(session, ids=[s.to_location_id for s in shipments.values()])
    return [NoticeView(n, references.get(n.order_id, ""), shipments[n.shipment_id],
                       codes.get(shipments[n.shipment_id].to_location_id, ""), lines.get(n.shipment_id, []))
            for n in notices]


@query
def notice(session: Session, *, brand_id: int, notice_id: int) -> NoticeView:
    found = session.get(ShipmentNotice, notice_id) if _is_id(notice_id) else None
    if found is None or found.brand_id != brand_id:
        raise errors.NotFound(what="Shipment notice", key=parsing.shown(notice_id))
    return notice_views(session, notices=[found])[0]


# ---------------------------------------------------------------- the brand's answers

def _settle(session: Session, order: PurchaseOrder) -> None:
    """After an answer or a notice: open -> answered when no line is open; answered -> closed when every
    confirmed unit is notified; `updated_at` is now."""
    ln = PurchaseOrderLine.__table__.c
    open_lines, unnotified = session.execute(select(
        func.count().filter(ln.status == PurchaseLineStatus.open),
        func.coalesce(func.sum(func.coalesce(ln.confirmed_quantity, 0) - ln.notified_quantity), 0),
    ).where(ln.order_id == order.id)).one()
    target = order.status
    if open_lines == 0:
        target = PurchaseOrderStatus.closed if unnotified == 0 else PurchaseOrderStatus.answered
    session.execute(update(PurchaseOrder).where(PurchaseOrder.id == order.id)
                    .values(status=target, updated_at=utcnow()).execution_options(synchronize_session=False))
    session.refresh(order)


def _lines_by_sku(session: Session, order: PurchaseOrder) -> dict[str, tuple[PurchaseOrderLine, Product]]:
    return {product.sku: (line, product) for line, product in session.execute(
        select(PurchaseOrderLine, Product).join(Product, Product.id == PurchaseOrderLine.product_id)
        .where(PurchaseOrderLine.order_id == order.id))}


def _unique_skus(skus: Sequence[str]) -> None:
    seen = set()
    for sku in skus:
        if sku in seen:
            raise errors.InvalidValue(field="sku", value=parsing.shown(sku))
        seen.add(sku)


@verb(BRAND)
def answer(session: Session, actor: User, *, brand_id: int, order_id: int,
           answers: Sequence[Answer]) -> PurchaseOrder:
    """Confirm (1 to the proposed quantity) or reject lines of the brand's order, each line once
    (PurchaseLineClosed when it was answered before, also by a concurrent request). All or nothing."""
    order = _brand_order(session, brand_id, order_id)
    if not answers:
        raise errors.MissingValue(field="lines")
    if len(answers) > MAX_LINES:
        raise errors.TooMany(field="lines", limit=MAX_LINES)
    _unique_skus([a.sku for a in answers])
    lines = _lines_by_sku(session, order)
    now = utcnow()
    for given in answers:
        if given.sku not in lines:
            raise errors.NotOnPurchaseOrder(sku=parsing.shown(given.sku), reference=order.reference)
        line, product = lines[given.sku]
        if given.reject:
            if given.confirmed_quantity is not None:
                raise errors.InvalidValue(field="confirmed_quantity", value=parsing.shown(given.confirmed_quantity))
            values = {"status": PurchaseLineStatus.rejected, "confirmed_quantity": None}
        else:
            confirmed = parsing.quantity(given.confirmed_quantity, field="confirmed_quantity", required=True)
            if confirmed > line.quantity:
                raise errors.ConfirmExceedsProposed(sku=product.sku, confirmed=confirmed, proposed=line.quantity,
                                                    reference=order.reference)
            values = {"status": PurchaseLineStatus.confirmed, "confirmed_quantity": confirmed}
        claimed = session.execute(
            update(PurchaseOrderLine).where(PurchaseOrderLine.id == line.id,
                                            PurchaseOrderLine.status == PurchaseLineStatus.open)
            .values(answered_at=now, **values).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            status = session.execute(select(PurchaseOrderLine.status).where(PurchaseOrderLine.id == line.id)
                                     ).scalar_one()
            raise errors.PurchaseLineClosed(sku=product.sku, reference=order.reference, status=status)
    _settle(session, order)
    audit.record(session, actor_id=actor.id, action="purchase_order.answered", entity="purchase_order",
                 entity_id=order.reference,
                 detail={a.sku: ("rejected" if a.reject else a.confirmed_quantity) for a in answers})
    return order


# ---------------------------------------------------------------- advance shipment notices

def shipment_reference(brand_code: str, reference: str) -> str:
    """The shipment's own reference (unique among shipments, at most 32 characters): the brand's code and its
    ASN number, or a digest of the number when that is too long (brand references never contain ':' or '#')."""
    readable = f"{brand_code}:{reference}"
    if len(readable) <= 32:
        return readable
    return f"{brand_code}#" + hashlib.sha256(reference.encode()).hexdigest()[:31 - len(brand_code)]


def _clean_reference(reference) -> str:
    cleaned = parsing.reference(reference, field="reference", max_length=MAX_NOTICE_REFERENCE, required=True)
    if not all(c.isascii() and (c.isalnum() or c in "._/-") for c in cleaned):
        raise errors.InvalidValue(field="reference", value=parsing.shown(cleaned))
    return cleaned


def _explain_conflict(session: Session, brand_id: int, reference: str, lines: Sequence[NoticeLine]) -> None:
    """After a unique index refused the notice (a concurrent twin committed first): which rule it was."""
    if session.execute(select(ShipmentNotice.id).where(ShipmentNotice.brand_id == brand_id,
                                                       ShipmentNotice.reference == reference)).first():
        raise errors.DuplicateReference(reference=reference)
    serials = [s for line in lines for s in line.serials]
    taken = session.execute(select(SerialUnit.serial).where(SerialUnit.serial.in_(serials))).first() if serials else None
    if taken is not None:
        raise errors.DuplicateSerial(serial=taken[0])
    raise errors.DuplicateReference(reference=reference)


@verb(BRAND)
def notify_shipment(session: Session, actor: User, *, brand_id: int, order_id: int, reference: str,
                    lines: Sequence[NoticeLine], expected_at: datetime | None = None) -> ShipmentNotice:
    """An advance shipment notice against the brand's order: each line at most what remains confirmed
    (NoticeExceedsConfirmed), serialised SKUs with one new serial per unit. The units go in transit to the
    order's warehouse; the notice's reference (the brand's ASN number) is unique per brand."""
    order = _brand_order(session, brand_id, order_id)
    reference = _clean_reference(reference)
    if not lines:
        raise errors.MissingValue(field="lines")
    if len(lines) > MAX_LINES:
        raise errors.TooMany(field="lines", limit=MAX_LINES)
    _unique_skus([line.sku for line in lines])
    if expected_at is not None and not (2000 <= expected_at.year <= 2100):
        raise errors.InvalidDate(field="expected_at", value=parsing.shown(expected_at))
    if session.execute(select(ShipmentNotice.id).where(ShipmentNotice.brand_id == brand_id,
                                                       ShipmentNotice.reference == reference)).first():
        raise errors.DuplicateReference(reference=reference)
    on_order = _lines_by_sku(session, order)
    cleaned = []
    for given in lines:
        if given.sku not in on_order:
            raise errors.NotOnPurchaseOrder(sku=parsing.shown(given.sku), reference=order.reference)
        quantity = parsing.quantity(given.quantity, required=True)
        serials = parsing.serials(list(given.serials), limit=parsing.MAX_QUANTITY)
        if len(serials) != len([s for s in given.serials if s and s.strip()]):
            raise errors.SerialsRequired(sku=given.sku, quantity=quantity, given=len(serials))
        cleaned.append(NoticeLine(given.sku, quantity, tuple(serials)))
    brand_code = session.execute(select(Brand.code).where(Brand.id == brand_id)).scalar_one()
    try:
        with session.begin_nested():
            for line in cleaned:
                row, product = on_order[line.sku]
                raised = session.execute(
                    update(PurchaseOrderLine).where(
                        PurchaseOrderLine.id == row.id,
                        PurchaseOrderLine.notified_quantity + line.quantity
                        <= func.coalesce(PurchaseOrderLine.confirmed_quantity, 0))
                    .values(notified_quantity=PurchaseOrderLine.notified_quantity + line.quantity)
                    .execution_options(synchronize_session=False)).rowcount
                if raised != 1:
                    now = session.execute(select(PurchaseOrderLine.confirmed_quantity,
                                                 PurchaseOrderLine.notified_quantity)
                                          .where(PurchaseOrderLine.id == row.id)).one()
                    raise errors.NoticeExceedsConfirmed(requested=line.quantity, sku=product.sku,
                                                        reference=order.reference,
                                                        remaining=(now.confirmed_quantity or 0) - now.notified_quantity)
            shipment = ship_from_brand(
                session, to_location_id=order.dc_id, reference=shipment_reference(brand_code, reference),
                lines=[ledger.Line(sku=line.sku, quantity=line.quantity, serials=line.serials) for line in cleaned],
                expected_at=expected_at)
            created = ShipmentNotice(brand_id=brand_id, reference=reference, order_id=order.id,
                                     shipment_id=shipment.id, created_by=actor.id)
            session.add(created)
            session.flush()
    except sa_exc.IntegrityError:
        _explain_conflict(session, brand_id, reference, cleaned)
    _settle(session, order)
    audit.record(session, actor_id=actor.id, action="purchase_order.shipment_notice", entity="purchase_order",
                 entity_id=order.reference, detail={"notice": reference, "shipment": shipment.reference,
                                                    "units": sum(line.quantity for line in cleaned)})
    return created
