"""Stock counts: what was counted on the shelf, applied at once or held for a manager, and their reads.

A counted difference this large (units, or value at wholesale cost) waits for a manager's decision. The
threshold is cumulative per store x SKU: the units that count adjustments moved without a manager over the
last `LARGE_DIFFERENCE_PERIOD` are added to the count's own difference, so a write-off split into small
counts (one unit short, again and again) still reaches the manager. A SKU that waits for a manager is not
counted again until the manager decides (`CountPending`): an approval applies its counted difference once.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlmodel import Session

from retail import errors, parsing
from retail.models import (
    CountStatus,
    Location,
    Movement,
    MovementKind,
    Product,
    SerialState,
    SerialUnit,
    StockBalance,
    StockCount,
    StockCountLine,
    User,
    utcnow,
)
from retail.services import access, audit, ledger, products
from retail.services.ledger.moves import _lost_in_count_here, apply_count_difference
from retail.services.ledger.postings import change_balance, clean_serials, location_by_id, serials_at
from retail.services.verbs import STORE, query, verb

LARGE_DIFFERENCE_UNITS = 3
LARGE_DIFFERENCE_VALUE = Decimal("2000")  # about one pair of glasses at wholesale cost
# The period over which the threshold adds up, per store x SKU: the units moved by count adjustments made
# without a manager (counts applied at once by staff or planners) within it count with the new difference.
# Adjustments made or approved by someone who may approve counts at the store were seen by a manager.
LARGE_DIFFERENCE_PERIOD = timedelta(days=30)
REASON_LENGTH = 240
MAX_SHELF_SERIALS = 2_000  # one scan box for a whole shop (`parsing.MAX_LINES`), within parsing's text bound


@dataclass(frozen=True)
class ShelfLine:
    sku: str
    model: str
    expected: int  # units in stock here by the register
    found: list[str] = field(default_factory=list)  # scanned, in stock here
    missing: list[str] = field(default_factory=list)  # in stock here, not scanned
    back: list[str] = field(default_factory=list)  # scanned, written off here by an earlier count: found again

    @property
    def matches(self) -> bool:
        return not self.missing and not self.back


@dataclass(frozen=True)
class ShelfCheck:
    """A whole shelf scanned into one box, sorted by SKU: what was found, what is missing, what does not
    belong here (sold, on display, in transit, at another location, unknown). Nothing is written."""
    scanned: int
    lines: list[ShelfLine]
    not_belonging: list[str]

    def serials_by_sku(self) -> dict[str, list[str]]:
        return {line.sku: line.found + line.back for line in self.lines}


def _shelf_serials(value) -> list[str]:
    return parsing.serials(value, limit=MAX_SHELF_SERIALS, field="shelf")


@query
def check_shelf(session: Session, *, store_id: int, serials) -> ShelfCheck:
    """Sort the serials scanned on the shelf against the store's register (every serialised SKU in stock
    here, and those of the serials scanned). The same sorting `submit_count(shelf=...)` applies."""
    store = location_by_id(session, store_id)
    scanned = _shelf_serials(serials)
    u = SerialUnit.__table__.c
    in_stock = session.execute(select(u.serial, u.product_id).where(
        u.location_id == store.id, u.state == SerialState.in_stock).order_by(u.serial)).all()
    rows = {}
    for start in range(0, len(scanned), 500):
        chunk = scanned[start:start + 500]
        rows.update({r.serial: r for r in session.execute(
            select(u.serial, u.product_id, u.location_id, u.state).where(u.serial.in_(chunk))).all()})
    seen = set(scanned)
    found, back, not_belonging = {}, {}, []
    for serial in scanned:
        row = rows.get(serial)
        if row is not None and row.location_id == store.id and row.state == SerialState.in_stock:
            found.setdefault(row.product_id, []).append(serial)
        elif (row is not None and row.location_id == store.id and row.state == SerialState.written_off
              and _lost_in_count_here(session, serial, store)):
            back.setdefault(row.product_id, []).append(serial)
        else:
            not_belonging.append(serial)
    missing, expected = {}, {}
    for serial, product_id in in_stock:
        expected[product_id] = expected.get(product_id, 0) + 1
        if serial not in seen:
            missing.setdefault(product_id, []).append(serial)
    ids = set(expected) | set(back)
    names = {p.id: p for p in session.execute(select(Product).where(Product.id.in_(list(ids)))).scalars()} if ids else {}
    lines = [ShelfLine(sku=names[i].sku, model=f"{names[i].model} {names[i].variant}".strip(),
                       expected=expected.get(i, 0), found=found.get(i, []), missing=missing.get(i, []),
                       back=back.get(i, [])) for i in ids]
    lines.sort(key=lambda line: (line.matches, line.sku))
    return ShelfCheck(scanned=len(scanned), lines=lines, not_belonging=not_belonging)


def _is_large(difference: int, product: Product) -> bool:
    return abs(difference) >= LARGE_DIFFERENCE_UNITS or abs(difference) * product.wholesale_cost >= LARGE_DIFFERENCE_VALUE


def _counted(value) -> int | None:
    return parsing.count(value)


def _unapproved_units(session: Session, store_id: int, product: Product, since: datetime) -> int:
    """The units count adjustments of this store x SKU moved since `since` without a manager: made by
    someone who may not approve counts here (or by no one)."""
    m = Movement.__table__.c
    rows = session.execute(
        select(m.actor_id, func.sum(func.abs(m.quantity)))
        .where(m.location_id == store_id, m.product_id == product.id, m.kind == MovementKind.count_adjustment,
               m.ts >= since)
        .group_by(m.actor_id)
    ).all()
    units = 0
    for actor_id, moved in rows:
        actor = session.get(User, actor_id) if actor_id is not None else None
        if actor is None or not access.may_approve_counts(actor, store_id):
            units += int(moved or 0)
    return units


def _lock_balance(session: Session, store: Location, product: Product) -> int:
    """The on-hand now, read under the balance row's lock (held to the end of the transaction): counts of
    one store x SKU are submitted and decided one at a time, and the count's snapshot is what the ledger had."""
    key = (store.id, product.id)
    balance = session.get(StockBalance, key, with_for_update=True, populate_existing=True)
    if balance is None:  # never stocked here: a zero change creates the row, and locks it
        change_balance(session, location=store, product=product)
        balance = session.get(StockBalance, key, with_for_update=True, populate_existing=True)
    return balance.on_hand


def _waiting(session: Session, store_id: int, product_id: int) -> int | None:
    """The count of this store x SKU that waits for a manager, if any."""
    return session.execute(
        select(StockCount.id).join(StockCountLine, StockCountLine.count_id == StockCount.id)
        .where(StockCount.store_id == store_id, StockCount.status == CountStatus.pending_approval,
               StockCountLine.product_id == product_id)
        .order_by(StockCount.id).limit(1)
    ).scalar()


@verb(STORE)
def submit_count(session: Session, actor: User, *, store_id: int, counted: Mapping[str, int | None], reason: str,
                 serials: Mapping[str, Sequence[str] | str] | None = None, shelf: Sequence[str] | str | None = None,
                 at: datetime | None = None) -> StockCount:
    """Record what was counted. Differences become adjustments at once, unless one is large and the
    counter may not approve it: then the whole count waits for a manager and nothing moves.

    A difference is large alone or together with the count adjustments of the same store x SKU made
    without a manager over `LARGE_DIFFERENCE_PERIOD`. A SKU with a count waiting for a manager refuses the
    whole count (CountPending), whoever counts: the manager decides the held count first.

    Serialised SKUs are counted by serial (`serials`: SKU -> the serials scanned; a count of 0 without
    serials means none found). Scanned serials that are not in this store's stock refuse the count at
    once; the serials missing and found are kept on the line for the manager's decision.

    `shelf`: the whole shelf scanned into one box (`check_shelf` sorts it by SKU). Every serialised SKU in
    stock here is then counted, a SKU none of whose serials was scanned as 0; a scanned serial that does
    not belong here refuses the count, naming it."""
    store = location_by_id(session, store_id)
    reason = parsing.text(reason, field="reason", max_length=REASON_LENGTH, required=True)
    scans = {sku: clean_serials(value) for sku, value in (serials or {}).items()}
    scans = {sku: value for sku, value in scans.items() if value}  # nothing scanned: not counted
    if shelf is not None and _shelf_serials(shelf):
        sorted_shelf = check_shelf(session, store_id=store.id, serials=shelf)
        if sorted_shelf.not_belonging:
            raise errors.ShelfSerialsNotHere(serials=", ".join(sorted_shelf.not_belonging[:20]),
                                             count=len(sorted_shelf.not_belonging))
        counted = dict(counted)
        for sku, scanned in sorted_shelf.serials_by_sku().items():
            if scanned:
                scans[sku] = scans.get(sku, []) + [s for s in scanned if s not in scans.get(sku, [])]
                counted.pop(sku, None)
            elif sku not in scans:
                counted[sku] = 0
    skus = [sku for sku, value in counted.items() if value is not None] + [s for s in scans if s not in counted]
    if not skus:
        raise errors.MissingValue(field="counted")
    entries, seen = [], set()
    for sku in skus:
        value = _counted(counted.get(sku))
        product = products.by_sku_or_barcode(session, sku)
        if product.id in seen:  # the same product under its SKU and its barcode
            raise errors.InvalidValue(field="counted", value=sku)
        seen.add(product.id)
        if not product.serialised and value is None:  # serials scanned for a SKU without serials
            raise errors.MissingValue(field="counted")
        entries.append((product, sku, value))
    now = at or utcnow()
    since = now - LARGE_DIFFERENCE_PERIOD
    count = StockCount(store_id=store.id, status=CountStatus.applied, reason=reason[:REASON_LENGTH],
                       counted_by=actor.id, counted_at=now)
    session.add(count)
    session.flush()
    lines = []
    # Locks in product order, and for each product in the order of every other verb: serial units, then the
    # balance row. Held to the end: a concurrent count of the same SKU waits and then sees this one.
    for product, sku, value in sorted(entries, key=lambda entry: entry[0].id):
        findings, scanned, changed = None, None, 0
        if product.serialised:
            check = ledger.check_serial_count(session, location_id=store.id, sku=product.sku,
                                              serials=scans.get(sku), counted=value, lock=True)
            scanned, value = check.scanned, len(check.scanned)
            findings = {"missing": check.missing, "found": check.found}
            changed = max(len(check.missing), len(check.found))
        expected = _lock_balance(session, store, product)
        waiting = _waiting(session, store.id, product.id)
        if waiting is not None:
            raise errors.CountPending(sku=product.sku, count=waiting)
        difference = max(abs(value - expected), changed)
        large = difference > 0 and _is_large(difference + _unapproved_units(session, store.id, product, since),
                                             product)
        line = StockCountLine(count_id=count.id, product_id=product.id, expected=expected, counted=value,
                              large=large, serials=findings)
        session.add(line)
        lines.append((line, product, scanned))
    if any(line.large for line, _, _ in lines) and not access.may_approve_counts(actor, store.id):
        count.status = CountStatus.pending_approval
    else:
        count.decided_by, count.decided_at = actor.id, count.counted_at
        for line, product, scanned in lines:
            ledger.adjust_count(session, location_id=store.id, sku=product.sku, counted=line.counted,
                                serials=scanned, reason=f"count {count.id}: {reason}"[:REASON_LENGTH],
                                actor_id=actor.id, at=at)
    session.flush()
    return count


@verb(STORE)
def decide_count(session: Session, actor: User, *, store_id: int, count_id: int, approve: bool,
                 at: datetime | None = None) -> StockCount:
    """A manager approves (the counted differences are applied to today's stock) or rejects a held count."""
    count = session.get(StockCount, count_id)
    if count is None or count.store_id != store_id:
        raise errors.NotFound(what="Stock count", key=count_id)
    if not access.may_approve_counts(actor, store_id):
        raise errors.Forbidden(what=f"stock count {count_id}")
    status = CountStatus.applied if approve else CountStatus.rejected
    claimed = session.execute(
        update(StockCount).where(StockCount.id == count.id, StockCount.status == CountStatus.pending_approval)
        .values(status=status, decided_by=actor.id, decided_at=at or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        current = session.execute(select(StockCount.status).where(StockCount.id == count.id)).scalar_one()
        raise errors.CountClosed(count=count.id, status=current)
    if approve:
        _apply_held_count(session, count, store_id=store_id, actor_id=actor.id, at=at)
    audit.record(session, actor_id=actor.id, action=f"stock_count.{status}", entity="stock_count",
                 entity_id=count.id)
    session.flush()
    session.refresh(count)
    return count


def _apply_held_count(session: Session, count: StockCount, *, store_id: int, actor_id: int, at) -> None:
    """Sales since the count are kept: the counted difference is applied to the stock of now, once, as a
    delta under the balance row's lock (a sale committed while the manager approves waits, then lands)."""
    store = session.get(Location, store_id)
    for line, product in session.execute(
        select(StockCountLine, Product).join(Product, Product.id == StockCountLine.product_id)
        .where(StockCountLine.count_id == count.id).order_by(Product.id)
    ).all():
        reason = f"count {count.id} approved: {count.reason}"[:REASON_LENGTH]
        if product.serialised and line.serials is not None:
            # The count's findings applied to the units of now: those missing then and still here
            # leave, those found come back; units sold or received since the count are kept as they are.
            # The units here are read under their row locks (serials, then the balance in adjust_count).
            missing, found = set(line.serials["missing"]), line.serials["found"]
            here = serials_at(session, location=store, product=product, states=[SerialState.in_stock], lock=True)
            held = set(here)
            shelf = [s for s in here if s not in missing] + [s for s in found if s not in held]
            ledger.adjust_count(session, location_id=store_id, sku=product.sku, serials=shelf,
                                reason=reason, actor_id=actor_id, at=at)
            continue
        apply_count_difference(session, location_id=store_id, sku=product.sku,
                               difference=line.counted - line.expected, reason=reason, actor_id=actor_id, at=at)


@query
def recent(session: Session, *, store_id: int, limit: int = 10) -> list[StockCount]:
    return list(session.execute(
        select(StockCount).where(StockCount.store_id == store_id)
        .order_by(StockCount.counted_at.desc(), StockCount.id.desc()).limit(limit)
    ).scalars())


@query
def detail(session: Session, *, store_id: int, count_id: int) -> tuple[StockCount, list[tuple]]:
    count = session.get(StockCount, count_id)
    if count is None or count.store_id != store_id:
        raise errors.NotFound(what="Stock count", key=count_id)
    lines = session.execute(
        select(StockCountLine, Product).join(Product, Product.id == StockCountLine.product_id)
        .where(StockCountLine.count_id == count.id).order_by(Product.sku)
    ).all()
    return count, [tuple(r) for r in lines]
