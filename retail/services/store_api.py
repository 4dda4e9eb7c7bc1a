"""What a store's own system (its POS or ERP) does through the partner API beyond the web forms' verbs:
push batches of till sales and returns, and read what it needs to reconcile (sales, transfer requests).

A batch is a POS file without the file: each item becomes the POS import's row (`pos_import.parse_row`,
the same bounded parsing and the same row errors), rows repeated inside the batch are refused
(`duplicate_row`), and every row is posted through `sales.sell` or `returns.record_return`, each in a
savepoint inside the batch's one transaction, so that every refused row is reported; any refusal and the
whole batch is refused (`InvalidBatch`), nothing recorded.

A retry without an Idempotency-Key is recognised row by row, as a re-exported till file is: a row sent
with its till time (`sold_at` / `returned_at`) records the POS import's fingerprint (`pos_import.row_key`:
type, SKU, time, receipt, quantity, serials) under a `PosImport` of the batch, unique per store; a row
whose fingerprint is already recorded (by an earlier batch or an imported file) is not posted again and
is answered as `already_recorded` with what it recorded. A row without its till time is stamped with the
time it arrives, so it cannot be recognised: such a POS makes retries safe with the Idempotency-Key.
"""
from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from retail import errors
from retail.models import (
    Location,
    Movement,
    MovementKind,
    MovementSerial,
    PosImport,
    PosImportRow,
    Product,
    SerialState,
    SerialUnit,
    Shipment,
    TransferRequest,
    User,
)
from retail.services import pos_import, returns, sales
from retail.services import products as catalogue
from retail.services.ledger.postings import location_by_id
from retail.services.pos_import import PosRow, RowError, row_key
from retail.services.verbs import STORE, query, verb

MAX_BATCH = 500
KEY_BATCH = 500


@dataclass(frozen=True)
class Posted:
    """A row of a batch: the movements it recorded (one sale; one return per sale it returns against),
    or, `already_recorded`, those an earlier batch or file recorded for the same till row."""

    row: int
    movements: list[Movement]
    already_recorded: bool = False


@dataclass(frozen=True)
class _Row:
    pos: PosRow
    sale_id: int | None
    fingerprint: str | None  # None: no till time given, not recognisable


def _error(number: int, column: str | None, refused: errors.DomainError) -> RowError:
    return RowError(number, column, refused.code, refused.params, f"Row {number}: {refused}")


def _sku_of_serial(session: Session, store_id: int, serial: str, kind: str) -> str | None:
    """The SKU of a scanned serial: a unit in stock here (a sale) or any known unit (a return: the verb then
    checks that this store sold it, with the same SerialNotHere refusal whatever the unit is elsewhere)."""
    unit = session.get(SerialUnit, serial)
    if unit is None or (kind == "sale" and (unit.location_id != store_id or unit.state != SerialState.in_stock)):
        return None
    return session.get(Product, unit.product_id).sku


def _read_rows(session: Session, store: Location, items: Sequence[Mapping], kind: str,
               now: datetime) -> tuple[list[_Row], list[RowError]]:
    """Each item as the POS import's row, or its row errors (numbered from 1)."""
    if len(items) > MAX_BATCH:
        raise errors.TooMany(field=f"{kind}s", limit=MAX_BATCH)
    tz, cache, seen = ZoneInfo(store.timezone), {}, {}
    rows, problems = [], []
    for number, item in enumerate(items, start=1):
        row_problems: list[RowError] = []
        serials = [s for s in (item.get("serials") or []) if s]
        sku = (item.get("sku") or "").strip()
        sale_id = item.get("sale_id")
        at = item.get("sold_at" if kind == "sale" else "returned_at")
        currency = item.get("currency")
        if currency and currency != store.currency:
            row_problems.append(_error(number, "currency", errors.CurrencyMismatch(
                location=store.code, currency=store.currency, given=currency)))
        if not sku and serials:
            sku = _sku_of_serial(session, store.id, serials[0], kind) or ""
            if not sku:
                row_problems.append(_error(number, "serials", errors.SerialNotHere(serial=serials[0])))
        elif not sku and sale_id is not None:
            sale = session.get(Movement, sale_id)
            if sale is None or sale.kind != MovementKind.sale or sale.location_id != store.id:
                row_problems.append(_error(number, "sale_id", errors.NotFound(what="Sale", key=sale_id)))
            else:
                sku = session.get(Product, sale.product_id).sku
        elif not sku:
            field = "sku" if kind == "sale" else "serials"
            row_problems.append(_error(number, field, errors.MissingValue(field=field)))
        if kind == "return" and not serials and sale_id is None and not item.get("receipt"):
            row_problems.append(_error(number, "serials", errors.MissingValue(field="serials")))
        if row_problems:
            problems.extend(row_problems)
            continue
        quantity = item.get("quantity")
        if quantity is None:
            quantity = len(serials) or 1
        values = {"date": at if at is not None else now, "sku": sku, "quantity": quantity,
                  "serials": " ".join(serials), "unit_price": item.get("unit_price"), "kind": kind,
                  "receipt": item.get("receipt") or None}
        pos, row_problems = pos_import.parse_row(session, number, values, tz, now, cache)
        if pos is not None:
            same = (pos.kind, pos.sku, pos.sold_at, pos.receipt, tuple(sorted(pos.serials)), pos.quantity, sale_id)
            if same in seen:
                row_problems.append(RowError(number, None, "duplicate_row", {"first": seen[same]},
                                             f"Row {number} repeats row {seen[same]}."))
            seen.setdefault(same, number)
        if row_problems:
            problems.extend(row_problems)
            continue
        # A return by sale number has no receipt of its own: the sale's number stands in the fingerprint.
        keyed = pos if sale_id is None else dataclasses.replace(pos, receipt=returns.sale_reference(sale_id))
        rows.append(_Row(pos, sale_id, row_key(keyed) if at is not None else None))
    return rows, problems


def _recorded_before(session: Session, store_id: int, rows: list[_Row]) -> set[str]:
    keys, found = [r.fingerprint for r in rows if r.fingerprint], set()
    for start in range(0, len(keys), KEY_BATCH):
        found.update(session.execute(select(PosImportRow.row_key).where(
            PosImportRow.store_id == store_id, PosImportRow.row_key.in_(keys[start:start + KEY_BATCH]))).scalars())
    return found


def _what_it_recorded(session: Session, store_id: int, row: _Row) -> list[Movement]:
    """The movements of a till row recorded before: same store, kind, SKU and till time; a sale also by its
    receipt and quantity, a return by the sale(s) it names (its serials, the sale's number or receipt)."""
    pos = row.pos
    product = catalogue.by_sku_or_barcode(session, pos.sku)
    kind = MovementKind.sale if pos.kind == "sale" else MovementKind.return_
    statement = select(Movement).where(Movement.location_id == store_id, Movement.kind == kind,
                                       Movement.product_id == product.id, Movement.ts == pos.sold_at)
    if pos.kind == "sale":
        statement = statement.where(Movement.reference == pos.receipt, Movement.quantity == -pos.quantity)
    elif pos.serials:
        statement = statement.where(Movement.id.in_(
            select(MovementSerial.movement_id).where(MovementSerial.serial.in_(pos.serials))))
    elif row.sale_id is not None:
        statement = statement.where(Movement.reference == returns.sale_reference(row.sale_id))
    elif pos.receipt is not None:
        sale_ids = session.execute(select(Movement.id).where(
            Movement.location_id == store_id, Movement.kind == MovementKind.sale,
            Movement.reference == pos.receipt)).scalars()
        statement = statement.where(Movement.reference.in_([returns.sale_reference(i) for i in sale_ids]))
    return list(session.execute(statement.order_by(Movement.id)).scalars())


class _RecordedMeanwhile(Exception):
    """A concurrent batch (or file) recorded this till row first."""


def _post_row(session: Session, actor: User, store_id: int, row: _Row) -> list[Movement]:
    pos = row.pos
    if pos.kind == "sale":
        return [sales.sell(session, actor, store_id=store_id, sku=pos.sku, quantity=pos.quantity,
                           serials=pos.serials, unit_price=pos.unit_price, reference=pos.receipt, at=pos.sold_at)]
    if pos.serials:
        return returns.record_return(session, actor, store_id=store_id, serials=pos.serials, sale_id=row.sale_id,
                                     at=pos.sold_at)
    if row.sale_id is not None:
        return returns.record_return(session, actor, store_id=store_id, sale_id=row.sale_id, quantity=pos.quantity,
                                     at=pos.sold_at)
    return returns.record_return(session, actor, store_id=store_id, receipt=pos.receipt, sku=pos.sku,
                                 quantity=pos.quantity, at=pos.sold_at)


def _post_batch(session: Session, actor: User, *, store_id: int, items: Sequence[Mapping], kind: str,
                now: datetime | None) -> list[Posted]:
    store = location_by_id(session, store_id)
    now = now or datetime.now(UTC)
    # The rows that pass the checks are posted even when others do not (and rolled back with the batch),
    # so that a refused batch lists every row the verbs refuse as well.
    rows, problems = _read_rows(session, store, items, kind, now)
    before = _recorded_before(session, store.id, rows)
    batch = None
    if not problems and any(r.fingerprint and r.fingerprint not in before for r in rows):
        batch = PosImport(store_id=store.id, file_sha256=hashlib.sha256(f"api {uuid.uuid4()}".encode()).hexdigest(),
                          filename=f"API {kind}s", rows=0, actor_id=actor.id)
        session.add(batch)
        session.flush()
    posted: list[Posted] = []
    # In till order, like a file: a return in the batch comes after the sale it undoes.
    for row in sorted(rows, key=lambda r: (r.pos.sold_at, r.pos.row_number)):
        number = row.pos.row_number
        if row.fingerprint in before:
            posted.append(Posted(number, _what_it_recorded(session, store.id, row), already_recorded=True))
            continue
        try:
            with session.begin_nested():
                if batch is not None and row.fingerprint is not None:
                    try:
                        with session.begin_nested():
                            session.add(PosImportRow(store_id=store.id, row_key=row.fingerprint, import_id=batch.id,
                                                     row_number=number))
                            session.flush()
                    except IntegrityError:
                        raise _RecordedMeanwhile() from None
                posted.append(Posted(number, _post_row(session, actor, store.id, row)))
        except _RecordedMeanwhile:
            posted.append(Posted(number, _what_it_recorded(session, store.id, row), already_recorded=True))
        except errors.DomainError as refused:
            problems.append(_error(number, None, refused))
    if problems:
        raise errors.InvalidBatch(sorted(problems, key=lambda e: e.row_number))
    if batch is not None:
        batch.rows = sum(1 for p in posted if not p.already_recorded)
        session.flush()
    return sorted(posted, key=lambda p: p.row)


@verb(STORE)
def post_sales(session: Session, actor: User, *, store_id: int, items: Sequence[Mapping],
               now: datetime | None = None) -> list[Posted]:
    """A batch of till sales (`receipt`, `sku` or `serials`, `quantity`, `unit_price`, `currency`, `sold_at`),
    all recorded or none (`InvalidBatch` with every refused row)."""
    return _post_batch(session, actor, store_id=store_id, items=items, kind="sale", now=now)


@verb(STORE)
def post_returns(session: Session, actor: User, *, store_id: int, items: Sequence[Mapping],
                 now: datetime | None = None) -> list[Posted]:
    """A batch of customer returns, each by `serials`, by `sale_id` or by the sale's `receipt` (with `sku`
    and `quantity`), all recorded or none."""
    return _post_batch(session, actor, store_id=store_id, items=items, kind="return", now=now)


# ---------------------------------------------------------------- reads

@query
def serials_of(session: Session, movement_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for start in range(0, len(movement_ids), KEY_BATCH):
        for movement_id, serial in session.execute(
                select(MovementSerial.movement_id, MovementSerial.serial)
                .where(MovementSerial.movement_id.in_(movement_ids[start:start + KEY_BATCH]))
                .order_by(MovementSerial.serial)):
            found.setdefault(movement_id, []).append(serial)
    return found


@query
def returned_by_sale(session: Session, sale_ids: Sequence[int]) -> dict[int, int]:
    references = {returns.sale_reference(i): i for i in sale_ids}
    if not references:
        return {}
    rows = session.execute(select(Movement.reference, func.sum(Movement.quantity)).where(
        Movement.kind == MovementKind.return_, Movement.reference.in_(list(references)))
        .group_by(Movement.reference)).all()
    return {references[reference]: int(total) for reference, total in rows}


@query
def sales_page(session: Session, *, store_id: int, limit: int, after: tuple[datetime, int] | None = None,
               since: datetime | None = None, until: datetime | None = None) -> list[tuple[Movement, str]]:
    """The store's sales, newest first (till time, then number), `limit` of them after the position `after`;
    `since` inclusive, `until` exclusive. (sale, SKU) pairs."""
    statement = (select(Movement, Product.sku).join(Product, Product.id == Movement.product_id)
                 .where(Movement.location_id == store_id, Movement.kind == MovementKind.sale))
    if since is not None:
        statement = statement.where(Movement.ts >= since)
    if until is not None:
        statement = statement.where(Movement.ts < until)
    if after is not None:
        ts, sale_id = after
        statement = statement.where(or_(Movement.ts < ts, and_(Movement.ts == ts, Movement.id < sale_id)))
    rows = session.execute(statement.order_by(Movement.ts.desc(), Movement.id.desc()).limit(limit)).all()
    return [tuple(r) for r in rows]


@query
def sale(session: Session, *, store_id: int, sale_id: int) -> tuple[Movement, str]:
    """One of the store's sales; another store's (or no such sale) is NotFound."""
    found = session.execute(select(Movement, Product.sku).join(Product, Product.id == Movement.product_id)
                            .where(Movement.id == sale_id)).first()
    if found is None or found[0].kind != MovementKind.sale or found[0].location_id != store_id:
        raise errors.NotFound(what="Sale", key=sale_id)
    return tuple(found)


@dataclass(frozen=True)
class TransferRow:
    request: TransferRequest
    sku: str
    from_code: str
    to_code: str
    shipment_reference: str | None


@query
def transfer_page(session: Session, *, store_id: int, limit: int, after: int | None = None,
                  direction: str = "", status: str = "") -> list[TransferRow]:
    """The store's transfer requests, made (`inbound`: units come to this store) and received (`outbound`),
    newest first by number."""
    origin, destination = Location.__table__.alias("origin"), Location.__table__.alias("destination")
    statement = (select(TransferRequest, Product.sku, origin.c.code, destination.c.code, Shipment.reference)
                 .join(Product, Product.id == TransferRequest.product_id)
                 .join(origin, origin.c.id == TransferRequest.from_store_id)
                 .join(destination, destination.c.id == TransferRequest.to_store_id)
                 .outerjoin(Shipment, Shipment.id == TransferRequest.shipment_id))
    if direction == "inbound":
        statement = statement.where(TransferRequest.to_store_id == store_id)
    elif direction == "outbound":
        statement = statement.where(TransferRequest.from_store_id == store_id)
    else:
        statement = statement.where(or_(TransferRequest.to_store_id == store_id,
                                        TransferRequest.from_store_id == store_id))
    if status:
        statement = statement.where(TransferRequest.status == status)
    if after is not None:
        statement = statement.where(TransferRequest.id < after)
    rows = session.execute(statement.order_by(TransferRequest.id.desc()).limit(limit)).all()
    return [TransferRow(*row) for row in rows]
