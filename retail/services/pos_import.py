"""Import a store's till (POS) export: CSV or XLSX, as such files really come.

Accepted: UTF-8 with or without BOM, GB18030/GBK (what spreadsheet programs in mainland China
save as CSV), Big5; XLSX. Chinese or English headers; dates as text or spreadsheet serials;
full-width digits and stray spaces. A file lands whole or not at all: `preview` validates every
row and dry-runs the sales against the ledger in a transaction it rolls back; `apply` does the
same for real, in one transaction, and records the file's hash so the same file never lands twice.
Sales and returns go through `retail.services.inventory`, the one write path for stock.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from retail import errors
from retail.models import Location, PosImport, Product
from retail.services import inventory

MAX_ROWS = 5000
# Column -> the header spellings found in real till exports (compared after NFKC, lower case, no spaces).
HEADERS = {
    "date": ["date", "sold_at", "saledate", "销售日期", "日期", "销售时间", "交易日期", "交易时间", "銷售日期",
             "時間"],
    "time": ["time", "时间", "销售时刻"],
    "sku": ["sku", "barcode", "ean", "商品编码", "商品编号", "条码", "条形码", "货号", "商品條碼", "條碼", "貨號"],
    "quantity": ["quantity", "qty", "数量", "數量", "销售数量", "銷售數量"],
    "serials": ["serial", "serials", "serialnumber", "serialnumbers", "imei", "序列号", "串号", "序號", "序列號"],
    "unit_price": ["unitprice", "price", "单价", "售价", "單價", "售價", "成交价", "成交價"],
    "kind": ["type", "kind", "类型", "類型", "单据类型", "交易类型"],
    "receipt": ["receipt", "receiptno", "ticket", "order", "小票号", "单号", "订单号", "收據號", "單號"],
}
REQUIRED = ("date", "sku", "quantity")
RETURN_WORDS = {"return", "refund", "退货", "退貨", "退款", "r"}
SALE_WORDS = {"sale", "sell", "销售", "銷售", "s", ""}
EXCEL_EPOCH = datetime(1899, 12, 30)
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")


@dataclass(frozen=True)
class RowError:
    row_number: int  # as a spreadsheet shows it: the header is row 1
    column: str | None
    code: str
    params: dict = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class PosRow:
    row_number: int
    kind: str  # "sale" | "return"
    sku: str
    quantity: int
    serials: list[str]
    unit_price: Decimal | None
    sold_at: datetime  # UTC
    receipt: str | None = None


@dataclass
class Preview:
    rows: list[PosRow]
    errors: list[RowError]
    file_sha256: str
    already_imported: bool


@dataclass(frozen=True)
class Result:
    imported_rows: int
    already_imported: bool


class InvalidFile(errors.DomainError):
    code = "invalid_pos_file"
    message = "The file has {count} invalid row(s); nothing was imported."

    def __init__(self, errors_: list[RowError]):
        self.errors = errors_
        super().__init__(count=len(errors_))


def template_csv() -> str:
    """The documented template (docs/pos-import.md): English headers; Chinese ones work as well."""
    return ("date,sku,quantity,serials,unit_price,type,receipt\r\n"
            "2026-11-20 14:05,RK-MAX2-BLK,1,SN00001,2999.00,sale,R-1001\r\n"
            "2026-11-20 15:30,6970000000024,2,,199.00,sale,R-1002\r\n"
            "2026-11-21 11:00,RK-MAX2-BLK,1,SN00001,2999.00,return,R-1001\r\n")


def _fold(text: str) -> str:
    """Full-width to half-width, stray and non-breaking spaces away."""
    return unicodedata.normalize("NFKC", str(text)).replace("\u3000", " ").strip()


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-()（）:]", "", _fold(text).lower())


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030", "big5"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("pos", content[:1], 0, 1, "not UTF-8, GB18030 or Big5")


def _read_table(filename: str, content: bytes) -> list[list]:
    if content[:4] == b"PK\x03\x04":  # a zip container: XLSX
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    text = _decode(content)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _parse_date(value, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        local = value
    elif isinstance(value, int | float) and not isinstance(value, bool) or (
            isinstance(value, str) and re.fullmatch(r"\d{5}(\.\d+)?", _fold(value))):
        serial = float(value if not isinstance(value, str) else _fold(value))
        if not 20000 < serial < 80000:
            return None
        local = EXCEL_EPOCH + timedelta(days=serial)
    else:
        text = re.sub(r"\s+", " ", _fold(value or ""))
        local = None
        for fmt in DATE_FORMATS:
            try:
                local = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if local is None:
            return None
    return local.replace(tzinfo=tz).astimezone(UTC) if local.tzinfo is None else local.astimezone(UTC)


def _parse_rows(session: Session, store: Location, table: list[list]) -> tuple[list[PosRow], list[RowError]]:
    rows, problems = [], []
    table = [r for r in table if any(c not in (None, "") and _fold(c) for c in r)]
    if len(table) < 2:
        return [], [RowError(1, None, "empty_file", {}, "The file has no data rows.")]
    positions: dict[str, int] = {}
    for index, header in enumerate(table[0]):
        key = _header_key(header or "")
        for column, names in HEADERS.items():
            if key in names and column not in positions:
                positions[column] = index
    missing = [c for c in REQUIRED if c not in positions]
    if missing:
        return [], [RowError(1, c, "missing_column", {"column": c}, f"Column {c} is missing.") for c in missing]
    if len(table) - 1 > MAX_ROWS:
        return [], [RowError(1, None, "too_many_rows", {"max": MAX_ROWS}, f"At most {MAX_ROWS} rows a file.")]
    tz, products, seen, now = ZoneInfo(store.timezone), {}, {}, datetime.now(UTC)
    for number, raw in enumerate(table[1:], start=2):
        values = {c: raw[i] if i < len(raw) else None for c, i in positions.items()}
        row, row_errors = _parse_row(session, number, values, tz, now, products)
        if row is not None:
            key = (row.kind, row.sku, row.sold_at, row.receipt, tuple(sorted(row.serials)), row.quantity)
            if key in seen:
                row_errors.append(RowError(number, None, "duplicate_row", {"first": seen[key]},
                                           f"Row {number} repeats row {seen[key]}."))
            seen.setdefault(key, number)
        if row_errors:
            problems.extend(row_errors)
        else:
            rows.append(row)
    return rows, problems


def _parse_row(session, number: int, values: dict, tz, now, products: dict) -> tuple[PosRow | None, list]:
    """One row of the file, or the reasons it is not one."""
    problems = []
    date_value = values.get("date")
    sold_at = _parse_date(date_value, tz) if date_value not in (None, "") else None
    if values.get("time") not in (None, "") and sold_at is not None and isinstance(values["time"], str):
        sold_at = _parse_date(f"{sold_at.astimezone(tz):%Y-%m-%d} {_fold(values['time'])}", tz) or sold_at
    if sold_at is None or sold_at > now + timedelta(days=1):
        problems.append(RowError(number, "date", "bad_date", {"value": str(date_value or "")},
                                 f"Row {number}: {date_value!r} is not a date."))
    quantity_text = _fold(values.get("quantity") if values.get("quantity") is not None else "")
    try:
        quantity = int(Decimal(quantity_text))
        if quantity == 0 or Decimal(quantity_text) != quantity:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        quantity = None
        problems.append(RowError(number, "quantity", "bad_quantity", {"value": quantity_text},
                                 f"Row {number}: quantity {quantity_text!r} is not a whole number."))
    kind_text = _fold(values.get("kind") or "").lower()
    kind = "return" if kind_text in RETURN_WORDS or (quantity is not None and quantity < 0) else "sale"
    if kind_text and kind_text not in RETURN_WORDS | SALE_WORDS:
        problems.append(RowError(number, "type", "bad_kind", {"value": kind_text},
                                 f"Row {number}: type {kind_text!r} is neither sale nor return."))
    sku_text = _fold(values.get("sku") or "").removesuffix(".0")
    if sku_text not in products and sku_text:
        products[sku_text] = session.execute(select(Product).where(
            (Product.sku == sku_text) | (Product.barcode == sku_text))).scalars().first()
    product = products.get(sku_text)
    if product is None:
        problems.append(RowError(number, "sku", "unknown_product", {"sku": sku_text},
                                 f"Row {number}: no product has SKU or barcode {sku_text!r}."))
    serials = [s for s in re.split(r"[\s,;、，；/|]+", _fold(values.get("serials") or "")) if s]
    if product is not None and quantity is not None and product.serialised and len(set(serials)) != abs(quantity):
        problems.append(RowError(number, "serials", "serials_required",
                                 {"sku": product.sku, "quantity": abs(quantity), "given": len(serials)},
                                 f"Row {number}: {product.sku} needs {abs(quantity)} serial number(s)."))
    price_text = _fold(values.get("unit_price") or "").replace("¥", "").replace("HK$", "").replace(",", "")
    price = None
    if price_text:
        try:
            price = Decimal(price_text)
            if price < 0 or not price.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append(RowError(number, "unit_price", "bad_price", {"value": price_text},
                                     f"Row {number}: price {price_text!r} is not an amount."))
    if problems:
        return None, problems
    receipt = _fold(values.get("receipt") or "") or None
    return PosRow(number, kind, product.sku, abs(quantity), serials if product.serialised else [], price, sold_at,
                  receipt), problems


def _post(session: Session, store: Location, rows: list[PosRow], actor_id: int | None) -> list[RowError]:
    """Post every row without committing; the errors the ledger raised, by row."""
    problems = []
    for row in sorted(rows, key=lambda r: (r.sold_at, r.row_number)):
        verb = inventory.record_sale if row.kind == "sale" else inventory.record_return
        try:
            with session.begin_nested():
                verb(session, store_id=store.id, sku=row.sku, quantity=row.quantity, serials=row.serials,
                     unit_price=row.unit_price, reference=row.receipt, actor_id=actor_id, at=row.sold_at,
                     commit=False)
        except errors.DomainError as refused:
            problems.append(RowError(row.row_number, None, refused.code, refused.params,
                                     f"Row {row.row_number}: {refused}"))
    return problems


def _load(session: Session, store_id: int, filename: str, content: bytes):
    store = inventory.location_by_id(session, store_id)
    digest = hashlib.sha256(content).hexdigest()
    try:
        table = _read_table(filename, content)
    except Exception:  # any unreadable file gets one clear error, whatever the parser raised
        return store, digest, [], [RowError(1, None, "unreadable_file", {"filename": filename},
                                            "The file is neither CSV nor XLSX in a known encoding.")]
    rows, problems = _parse_rows(session, store, table)
    return store, digest, rows, problems


def _already(session: Session, store_id: int, digest: str) -> bool:
    return session.execute(select(PosImport.id).where(
        PosImport.store_id == store_id, PosImport.file_sha256 == digest)).first() is not None


def preview(session: Session, *, store_id: int, filename: str, content: bytes) -> Preview:
    store, digest, rows, problems = _load(session, store_id, filename, content)
    already = _already(session, store.id, digest)
    if not problems and not already:
        problems = _post(session, store, rows, actor_id=None)
    session.rollback()  # a preview writes nothing
    return Preview(rows=rows, errors=sorted(problems, key=lambda e: e.row_number), file_sha256=digest,
                   already_imported=already)


def apply(session: Session, *, store_id: int, filename: str, content: bytes, actor_id: int | None) -> Result:
    store, digest, rows, problems = _load(session, store_id, filename, content)
    if problems:
        session.rollback()
        raise InvalidFile(sorted(problems, key=lambda e: e.row_number))
    if _already(session, store.id, digest):
        session.rollback()
        return Result(imported_rows=0, already_imported=True)
    problems = _post(session, store, rows, actor_id)
    if problems:
        session.rollback()
        raise InvalidFile(sorted(problems, key=lambda e: e.row_number))
    session.add(PosImport(store_id=store.id, file_sha256=digest, filename=filename[:255], rows=len(rows),
                          actor_id=actor_id))
    try:
        session.commit()
    except IntegrityError:  # the same file, confirmed twice at once: the other request landed it
        session.rollback()
        return Result(imported_rows=0, already_imported=True)
    return Result(imported_rows=len(rows), already_imported=False)
