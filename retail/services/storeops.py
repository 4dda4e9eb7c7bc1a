"""The shop-floor verbs of the store web: sell by scan, log a missed sale, take a return, count
the shelf, ask another store for units and answer such requests. Stock itself changes only through
`inventory` and `shipments`.

Each verb takes the session first and keyword-only plain values, and commits once.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlmodel import Session

from retail import errors
from retail.models import (
    CountStatus,
    Location,
    LocationKind,
    MissedSale,
    Movement,
    MovementKind,
    MovementSerial,
    Product,
    SerialState,
    SerialUnit,
    StockBalance,
    StockCount,
    StockCountLine,
    TransferRequest,
    TransferStatus,
    User,
    utcnow,
)
from retail.services import access, audit, inventory, shipments
from retail.services.stock import (
    check_quantity,
    last_sale_of_serial,
    location_by_id,
    product_by_sku,
    serials_at,
)

# A counted difference this large (units, or value at wholesale cost) waits for a manager.
LARGE_DIFFERENCE_UNITS = 3
LARGE_DIFFERENCE_VALUE = Decimal("2000")  # about one pair of glasses at wholesale cost
MISSED_SALE_REASONS = ("out_of_stock", "no_demo", "other")


def clean_serials(serials: Sequence[str] | str) -> list[str]:
    """Serials as scanned: one per line, or separated by spaces or commas; duplicates dropped."""
    if isinstance(serials, str):
        serials = serials.replace(",", " ").split()
    seen: list[str] = []
    for s in serials:
        s = (s or "").strip()
        if s and s not in seen:
            seen.append(s)
    return seen


def _product_of_serials(session: Session, serials: Sequence[str]) -> Product:
    unit = session.get(SerialUnit, serials[0])
    if unit is None:
        raise errors.UnknownSerial(serial=serials[0], sku="-", location="-")
    return session.get(Product, unit.product_id)


def sell(session: Session, *, store_id: int, sku: str = "", quantity: int | None = None,
         serials: Sequence[str] | str = (), actor_id: int | None = None, at: datetime | None = None) -> Movement:
    """Record a sale from the shop floor: the SKU may be left out when serials are scanned, and for a
    serialised SKU the quantity is the number of serials."""
    serials = clean_serials(serials)
    if not (sku or "").strip():
        if not serials:
            raise errors.MissingValue(field="sku")
        sku = _product_of_serials(session, serials).sku
    product = product_by_sku(session, sku)
    if quantity is None:
        quantity = len(serials) if product.serialised and serials else 1
    return inventory.record_sale(session, store_id=store_id, sku=product.sku, quantity=quantity,
                                 serials=serials, actor_id=actor_id, at=at)


def record_missed_sale(session: Session, *, store_id: int, sku: str, quantity: int = 1,
                       reason: str = "out_of_stock", note: str | None = None, actor_id: int | None = None,
                       at: datetime | None = None) -> MissedSale:
    quantity = check_quantity(quantity)
    store = location_by_id(session, store_id)
    product = product_by_sku(session, sku)
    if reason not in MISSED_SALE_REASONS:
        raise errors.InvalidValue(field="reason", value=reason)
    missed = MissedSale(ts=at or utcnow(), store_id=store.id, product_id=product.id, quantity=quantity,
                        reason=reason, note=(note or "").strip()[:240] or None, actor_id=actor_id)
    session.add(missed)
    session.commit()
    return missed


def _returned_against(session: Session, reference: str) -> int:
    return session.execute(select(func.coalesce(func.sum(Movement.quantity), 0)).where(
        Movement.kind == MovementKind.return_, Movement.reference == reference)).scalar_one()


def record_return(session: Session, *, store_id: int, serials: Sequence[str] | str = (),
                  sale_id: int | None = None, quantity: int | None = None, actor_id: int | None = None,
                  at: datetime | None = None) -> list[Movement]:
    """A customer brings units back, identified by their serials or by the original sale (its number).
    Each return is linked to its sale (`reference` SALE-<id>); a sale cannot be returned twice over."""
    serials = clean_serials(serials)
    if not serials and sale_id is None:
        raise errors.MissingValue(field="serials")
    groups: dict[int, list[str]] = {}
    if serials:
        for serial in serials:
            unit = session.get(SerialUnit, serial)
            if unit is None or unit.state != SerialState.sold:
                raise errors.SerialNotSold(serial=serial)
            sale = last_sale_of_serial(session, serial)
            if sale is None or (sale_id is not None and sale.id != sale_id):
                raise errors.SerialNotSold(serial=serial)
            groups.setdefault(sale.id, []).append(serial)
    else:
        groups[sale_id] = []
    movements = []
    for sid, group in groups.items():
        sale = session.get(Movement, sid)
        # A sale number of another store is not found from this one. Serials are not judged here:
        # inventory.record_return refuses a serial sold at another store (SerialSoldElsewhere).
        if sale is None or sale.kind != MovementKind.sale or (not group and sale.location_id != store_id):
            raise errors.NotFound(what="Sale", key=sid)
        product = session.get(Product, sale.product_id)
        sold, returned = -sale.quantity, _returned_against(session, f"SALE-{sid}")
        if not group and product.serialised:
            group = [s for (s,) in session.execute(
                select(MovementSerial.serial).join(SerialUnit, SerialUnit.serial == MovementSerial.serial)
                .where(MovementSerial.movement_id == sid, SerialUnit.state == SerialState.sold)
                .order_by(MovementSerial.serial))][: quantity or sold]
        wanted = len(group) if group else (quantity if quantity is not None else sold - returned)
        if wanted < 1 or returned + wanted > sold:
            raise errors.ReturnExceedsSale(sale=sid, sold=sold, returned=returned, requested=wanted)
        movements.append(inventory.record_return(
            session, store_id=store_id, sku=product.sku, quantity=wanted, serials=group,
            unit_price=sale.unit_price, reference=f"SALE-{sid}", actor_id=actor_id, at=at, commit=False))
    session.commit()
    return movements


def _is_large(difference: int, product: Product) -> bool:
    return abs(difference) >= LARGE_DIFFERENCE_UNITS or abs(difference) * product.wholesale_cost >= LARGE_DIFFERENCE_VALUE


def submit_count(session: Session, *, store_id: int, counted: Mapping[str, int | None], reason: str,
                 actor_id: int, serials: Mapping[str, Sequence[str] | str] | None = None,
                 at: datetime | None = None) -> StockCount:
    """Record what was counted. Differences become adjustments at once, unless one is large and the
    counter may not approve it: then the whole count waits for a manager and nothing moves.

    Serialised SKUs are counted by serial (`serials`: SKU -> the serials scanned; a count of 0 without
    serials means none found). Scanned serials that are not in this store's stock refuse the count at
    once; the serials missing and found are kept on the line for the manager's decision."""
    store = location_by_id(session, store_id)
    reason = (reason or "").strip()
    if not reason:
        raise errors.MissingValue(field="reason")
    scans = {sku: clean_serials(value) for sku, value in (serials or {}).items()}
    scans = {sku: value for sku, value in scans.items() if value}  # nothing scanned: not counted
    skus = [sku for sku, value in counted.items() if value is not None] + [s for s in scans if s not in counted]
    if not skus:
        raise errors.MissingValue(field="counted")
    actor = session.get(User, actor_id)
    count = StockCount(store_id=store.id, status=CountStatus.applied, reason=reason[:240], counted_by=actor_id,
                       counted_at=at or utcnow())
    session.add(count)
    session.flush()
    lines = []
    for sku in skus:
        value = counted.get(sku)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise errors.InvalidQuantity(quantity=value)
        product = product_by_sku(session, sku)
        balance = session.get(StockBalance, (store.id, product.id), populate_existing=True)
        expected = balance.on_hand if balance else 0
        findings, scanned, changed = None, None, 0
        if product.serialised:
            check = inventory.check_serial_count(session, location_id=store.id, sku=product.sku,
                                                 serials=scans.get(sku), counted=value)
            scanned, value = check.scanned, len(check.scanned)
            findings = {"missing": check.missing, "found": check.found}
            changed = max(len(check.missing), len(check.found))
        elif value is None:  # serials scanned for a SKU without serials: count its units instead
            raise errors.MissingValue(field="counted")
        line = StockCountLine(count_id=count.id, product_id=product.id, expected=expected, counted=value,
                              large=_is_large(max(abs(value - expected), changed), product), serials=findings)
        session.add(line)
        lines.append((line, product, scanned))
    if any(line.large for line, _, _ in lines) and not access.may_approve_counts(actor, store.id):
        count.status = CountStatus.pending_approval
    else:
        count.decided_by, count.decided_at = actor_id, count.counted_at
        for line, product, scanned in lines:
            inventory.adjust_count(session, location_id=store.id, sku=product.sku, counted=line.counted,
                                   serials=scanned, reason=f"count {count.id}: {reason}"[:240], actor_id=actor_id,
                                   at=at, commit=False)
    session.commit()
    return count


def decide_count(session: Session, *, store_id: int, count_id: int, approve: bool, actor_id: int,
                 at: datetime | None = None) -> StockCount:
    """A manager approves (the counted differences are applied to today's stock) or rejects a held count."""
    actor = session.get(User, actor_id)
    if actor is None or not access.may_approve_counts(actor, store_id):
        raise errors.Forbidden(what=f"stock count {count_id}")
    count = session.get(StockCount, count_id)
    if count is None or count.store_id != store_id:
        raise errors.NotFound(what="Stock count", key=count_id)
    status = CountStatus.applied if approve else CountStatus.rejected
    claimed = session.execute(
        update(StockCount).where(StockCount.id == count.id, StockCount.status == CountStatus.pending_approval)
        .values(status=status, decided_by=actor_id, decided_at=at or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(count)
        raise errors.CountClosed(count=count.id, status=count.status)
    if approve:
        # Sales since the count are kept: the counted difference is applied to the stock of now.
        for line, product in session.execute(
            select(StockCountLine, Product).join(Product, Product.id == StockCountLine.product_id)
            .where(StockCountLine.count_id == count.id)
        ).all():
            reason = f"count {count.id} approved: {count.reason}"[:240]
            if product.serialised and line.serials is not None:
                # The count's findings applied to the units of now: those missing then and still here
                # leave, those found come back; units sold or received since the count are kept as they are.
                missing, found = set(line.serials["missing"]), line.serials["found"]
                here = serials_at(session, location=session.get(Location, store_id), product=product,
                                  states=[SerialState.in_stock])
                shelf = [s for s in here if s not in missing] + [s for s in found if s not in here]
                inventory.adjust_count(session, location_id=store_id, sku=product.sku, serials=shelf,
                                       reason=reason, actor_id=actor_id, at=at, commit=False)
                continue
            if line.counted == line.expected:
                continue
            balance = session.get(StockBalance, (store_id, product.id), populate_existing=True)
            now = (balance.on_hand if balance else 0) + line.counted - line.expected
            inventory.adjust_count(session, location_id=store_id, sku=product.sku, counted=max(now, 0),
                                   reason=reason, actor_id=actor_id, at=at, commit=False)
    audit.record(session, actor_id=actor_id, action=f"stock_count.{status}", entity="stock_count",
                 entity_id=count.id)
    session.commit()
    session.refresh(count)
    return count


def request_transfer(session: Session, *, to_store_id: int, from_store_code: str, sku: str, quantity: int,
                     note: str | None = None, actor_id: int | None = None) -> TransferRequest:
    """Ask another store to send units of a SKU to this one; the other store must hold them."""
    quantity = check_quantity(quantity)
    destination = location_by_id(session, to_store_id)
    code = (from_store_code or "").strip().upper()
    if not code:
        raise errors.MissingValue(field="from_store")
    origin = session.execute(select(Location).where(func.upper(Location.code) == code)).scalars().first()
    if origin is None or origin.kind != LocationKind.store:
        raise errors.UnknownLocation(location=code)
    origin = location_by_id(session, origin.id)
    if origin.id == destination.id:
        raise errors.TransferToSameStore(location=origin.code)
    product = product_by_sku(session, sku)
    balance = session.get(StockBalance, (origin.id, product.id))
    available = balance.on_hand if balance else 0
    if available < quantity:
        raise errors.InsufficientStock(sku=product.sku, location=origin.code, available=available,
                                       requested=quantity)
    transfer = TransferRequest(from_store_id=origin.id, to_store_id=destination.id, product_id=product.id,
                               quantity=quantity, note=(note or "").strip()[:240] or None, requested_by=actor_id)
    session.add(transfer)
    session.commit()
    return transfer


def transfer_reference(transfer_id: int) -> str:
    """The reference of the shipment that fulfils a transfer request: one request, at most one shipment
    (`shipment.reference` is unique), so a retried or concurrent ship cannot send the units twice."""
    return f"TR-{transfer_id}"


@contextmanager
def _all_or_nothing(session: Session):
    """One transaction for an answer to a transfer request: committed whole, or rolled back whole
    when any step is refused (stock gone, a serial not here, the request already answered)."""
    try:
        yield
        session.commit()
    except errors.DomainError:
        session.rollback()
        raise


def _transfer_to_act_on(session: Session, *, store_id: int, transfer_id: int, side: str,
                        actor_id: int) -> TransferRequest:
    """The request, when `store_id` is the store that may act on it: the origin (`side="origin"`, ship or
    decline) or the requesting store (`side="requester"`, cancel). A request this store has no part in is
    NotFound; one of this store on the other side is Forbidden; so is an actor who may not work here."""
    actor = session.get(User, actor_id)
    if actor is None:
        raise errors.Forbidden(what=f"transfer request {transfer_id}")
    access.check_store(actor, store_id)
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
        session.rollback()
        session.refresh(transfer)
        raise errors.TransferClosed(transfer=transfer.id, status=transfer.status)


def ship_transfer(session: Session, *, store_id: int, transfer_id: int, serials: Sequence[str] | str = (),
                  actor_id: int, at: datetime | None = None) -> TransferRequest:
    """The origin store sends the units asked for: the request becomes `shipped` and a shipment
    `TR-<id>` leaves the origin's stock for the requesting store's in-transit stock (`shipments.ship`),
    linked by `shipment_id`. Serialised SKUs need exactly the requested number of serials scanned, in
    stock at the origin. One transaction: if the stock or a serial is refused, nothing changes."""
    with _all_or_nothing(session):
        transfer = _transfer_to_act_on(session, store_id=store_id, transfer_id=transfer_id, side="origin",
                                       actor_id=actor_id)
        at = at or utcnow()
        _close_transfer(session, transfer, status=TransferStatus.shipped, actor_id=actor_id, at=at)
        product = session.get(Product, transfer.product_id)
        scanned = clean_serials(serials)
        reference = transfer_reference(transfer.id)
        shipment = shipments.ship(
            session, from_location_id=transfer.from_store_id, to_location_id=transfer.to_store_id,
            lines=[shipments.Line(product.sku, transfer.quantity, tuple(scanned))], reference=reference,
            actor_id=actor_id, at=at, commit=False)
        session.execute(update(TransferRequest).where(TransferRequest.id == transfer.id)
                        .values(shipment_id=shipment.id).execution_options(synchronize_session=False))
        audit.record(session, actor_id=actor_id, action="transfer.shipped", entity="transfer_request",
                     entity_id=transfer.id, detail={"shipment": reference, "sku": product.sku,
                                                    "quantity": transfer.quantity,
                                                    "serials": scanned if product.serialised else []})
    session.refresh(transfer)
    return transfer


def decline_transfer(session: Session, *, store_id: int, transfer_id: int, reason: str, actor_id: int,
                     at: datetime | None = None) -> TransferRequest:
    """The origin store will not send the units; the reason is kept and shown to the requesting store."""
    with _all_or_nothing(session):
        transfer = _transfer_to_act_on(session, store_id=store_id, transfer_id=transfer_id, side="origin",
                                       actor_id=actor_id)
        reason = (reason or "").strip()[:240]
        if not reason:
            raise errors.MissingValue(field="reason")
        _close_transfer(session, transfer, status=TransferStatus.declined, actor_id=actor_id, at=at or utcnow(),
                        decline_reason=reason)
        audit.record(session, actor_id=actor_id, action="transfer.declined", entity="transfer_request",
                     entity_id=transfer.id, detail={"reason": reason})
    session.refresh(transfer)
    return transfer


def cancel_transfer(session: Session, *, store_id: int, transfer_id: int, actor_id: int,
                    at: datetime | None = None) -> TransferRequest:
    """The requesting store withdraws its request, while it is still `requested`."""
    with _all_or_nothing(session):
        transfer = _transfer_to_act_on(session, store_id=store_id, transfer_id=transfer_id, side="requester",
                                       actor_id=actor_id)
        _close_transfer(session, transfer, status=TransferStatus.cancelled, actor_id=actor_id, at=at or utcnow())
        audit.record(session, actor_id=actor_id, action="transfer.cancelled", entity="transfer_request",
                     entity_id=transfer.id)
    session.refresh(transfer)
    return transfer
