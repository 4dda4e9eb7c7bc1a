"""Import a store's till (POS) export: CSV or XLSX, as such files really come.

Accepted: UTF-8 with or without BOM, GB18030/GBK (what spreadsheet programs in mainland China
save as CSV), Big5 (Hong Kong and Taiwan; told from GB18030 by which reading finds the headers); XLSX. Chinese or English headers; dates as text or spreadsheet serials;
full-width digits and stray spaces. A file lands whole or not at all: `preview` validates every
row and dry-runs the sales against the ledger in a savepoint it rolls back, then stages the file
server-side (`PosStagedFile`, by store and hash, for `STAGED_FOR`); `confirm` applies the staged file
(`apply`: the same checks for real, in one transaction). The same file never lands twice (its hash is
recorded), and neither does a row: each row that lands records its fingerprint (`row_key`: type, SKU,
time, quantity, serials, receipt), and a row of a later file with a fingerprint already recorded at the
store (a re-export that differs by a byte, an overlapping day) is skipped and reported as already
imported, while the file's new rows land. Refusing such a file whole would make staff cut rows out of
the till's export by hand, the mistake that duplicates or loses sales.
Every row goes through the verbs a person at the till uses: `sales.sell` and `returns.record_return`
(a return names its sale by serial or by the receipt it was sold under at this store, and never
returns more than the sale sold). No rule is added or skipped for a file.

Every value is read by `retail.parsing` (bounded quantities, prices, receipts, serials and dates), and
the file itself is bounded before it is read: its size, an XLSX's unpacked size, the rows and columns a
sheet declares or really has (`MAX_FILE_BYTES`, `MAX_UNPACKED_BYTES`, `MAX_ROWS`, `MAX_SHEET_ROWS`,
`MAX_COLUMNS`). An XLSX is read lazily, row by row, never padded to the size its `<dimension>` claims.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from time import monotonic
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from retail import errors, parsing
from retail.models import (
    Location,
    PosImport,
    PosImportRow,
    PosStagedFile,
    Product,
    StockBalance,
    User,
    utcnow,
)
from retail.services import products as catalogue
from retail.services import returns, sales
from retail.services.ledger.postings import location_by_id
from retail.services.verbs import STORE, query, verb

MAX_ROWS = 5000  # data rows (not blank) in one file
MAX_SHEET_ROWS = 4 * MAX_ROWS  # rows read at all, blank ones included (an XLSX may declare or skip to row 1,048,576)
MAX_COLUMNS = 64  # columns a file may have (an XLSX may declare 16,384)
MAX_FILE_BYTES = 16 * 1024 * 1024  # the file as uploaded
MAX_UNPACKED_BYTES = 32 * 1024 * 1024  # an XLSX's zip members, unpacked, together
MAX_ZIP_MEMBERS = 1000
MAX_WORD_LENGTH = 32  # the type column ("sale", "退货")
CSV_ENCODINGS = ("gb18030", "big5hkscs", "cp950")  # after UTF-8; the one whose reading finds the headers wins
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
STAGED_FOR = timedelta(hours=24)  # a previewed file waits this long for its confirmation, then is deleted
MAX_STAGED_PER_STORE = 20  # files staged at once by a store (the newest kept): at most 20 x MAX_FILE_BYTES
KEY_BATCH = 500  # fingerprints looked up per query


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
    already_imported: bool  # the whole file (its hash) was imported before
    imported_before: list[int] = field(default_factory=list)  # row numbers already imported by an earlier file
    staged: bool = False  # waiting server-side for `confirm` with the file's hash


@dataclass(frozen=True)
class Result:
    imported_rows: int
    already_imported: bool
    skipped_rows: int = 0  # rows imported before by another file, not imported again
    filename: str = ""


class InvalidFile(errors.DomainError):
    code = "invalid_pos_file"
    message = "The file has {count} invalid row(s); nothing was imported."

    def __init__(self, errors_: list[RowError]):
        self.errors = errors_
        super().__init__(count=len(errors_))


TEMPLATE_HEADER = "date,sku,quantity,serials,unit_price,type,receipt\r\n"
TEMPLATE_ROWS = 3


@query
def template_csv(session: Session | None = None, *, store_id: int | None = None) -> str:
    """The documented template (docs/pos-import.md): English headers (Chinese ones work as well) and, for a
    store, example rows of SKUs of its own range at their list price in its currency. A serialised SKU's
    row names no real serial (a template must never sell a unit as uploaded): the till fills it in."""
    if session is None or store_id is None:
        return (TEMPLATE_HEADER + "2026-11-20 14:05,RK-MAX2-BLK,1,SN00001,2999.00,sale,R-1001\r\n"
                "2026-11-20 15:30,6970000000024,2,,199.00,sale,R-1002\r\n")
    store = session.get(Location, store_id)
    rows = session.execute(
        select(Product.sku, Product.serialised, Product.list_price_cny, Product.list_price_hkd)
        .join(StockBalance, StockBalance.product_id == Product.id)
        .where(StockBalance.location_id == store_id).order_by(StockBalance.on_hand.desc(), Product.sku)
        .limit(TEMPLATE_ROWS)).all()
    lines = [TEMPLATE_HEADER]
    for n, r in enumerate(rows, start=1):
        price = r.list_price_hkd if store is not None and store.currency == "HKD" else r.list_price_cny
        serial = "SN-..." if r.serialised else ""
        lines.append(f"2026-11-20 1{n}:00,{r.sku},1,{serial},{price:.2f},sale,R-{1000 + n}\r\n")
    return "".join(lines)


def _fold(text: str) -> str:
    """Full-width to half-width, stray and non-breaking spaces away."""
    return unicodedata.normalize("NFKC", str(text)).replace("\u3000", " ").strip()


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-()（）:]", "", _fold(text).lower())


class _TooLarge(Exception):
    """The file is beyond a bound: one row error, and nothing of it is read further."""

    def __init__(self, code: str, params: dict, message: str):
        self.error = RowError(1, None, code, params, message)
        super().__init__(message)


def _too_large(what: str) -> _TooLarge:
    megabytes = MAX_UNPACKED_BYTES // (1024 * 1024) if what == "unpacked" else MAX_FILE_BYTES // (1024 * 1024)
    return _TooLarge("file_too_large", {"max": megabytes}, f"The file is too large: at most {megabytes} MB.")


def _too_many_rows() -> _TooLarge:
    return _TooLarge("too_many_rows", {"max": MAX_ROWS}, f"At most {MAX_ROWS} rows a file.")


def _too_many_columns() -> _TooLarge:
    return _TooLarge("too_many_columns", {"max": MAX_COLUMNS}, f"At most {MAX_COLUMNS} columns a file.")


def _header_score(text: str) -> int:
    """How many known column headers the first non-blank line of a decoded file has."""
    for line in text[:4096].splitlines()[:20]:
        if line.strip():
            keys = {_header_key(cell) for cell in re.split(r"[,;\t|]", line)}
            return sum(1 for names in HEADERS.values() if keys & set(names))
    return 0


def _decode(content: bytes) -> str:
    """UTF-8 if it is; otherwise GB18030 or Big5. GB18030 accepts almost any bytes, Big5 files included
    (銷售日期 comes out as 綪扳ら戳), so the reading whose first line has the most known headers wins."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best: tuple[int, str] | None = None
    for encoding in CSV_ENCODINGS:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _header_score(text)
        if best is None or score > best[0]:
            best = (score, text)
    if best is None:
        raise UnicodeDecodeError("pos", content[:1], 0, 1, "not UTF-8, GB18030 or Big5")
    return best[1]


def _bounded_rows(rows) -> list[list]:
    """Rows of a table, read lazily: at most `MAX_SHEET_ROWS` rows, `MAX_ROWS` + 1 non-blank ones (the
    header and the data), `MAX_COLUMNS` columns. Refused at the first row beyond a bound."""
    table, filled = [], 0
    for number, row in enumerate(rows, start=1):
        if number > MAX_SHEET_ROWS:
            raise _too_many_rows()
        if len(row) > MAX_COLUMNS:
            if any(cell not in (None, "") for cell in row[MAX_COLUMNS:]):
                raise _too_many_columns()
            row = row[:MAX_COLUMNS]
        if any(cell not in (None, "") for cell in row):
            filled += 1
            if filled > MAX_ROWS + 1:
                raise _too_many_rows()
        table.append(list(row))
    return table


def _read_xlsx(content: bytes) -> list[list]:
    """The first sheet, bounded before and while it is read. The zip's unpacked size is checked first
    (a huge sharedStrings.xml or sheet would otherwise be parsed whole); the sheet's declared
    `<dimension>` is checked, then ignored, so rows are never padded to it."""
    from openpyxl import load_workbook

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise _too_large("unpacked")
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        if (sheet.max_column or 0) > MAX_COLUMNS:
            raise _too_many_columns()
        if (sheet.max_row or 0) > MAX_SHEET_ROWS:
            raise _too_many_rows()
        sheet.reset_dimensions()  # rows as they are in the file, not padded to the declared size
        # one column beyond the bound, to tell a sheet that really has too many columns
        return _bounded_rows(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1))
    finally:
        book.close()


def _read_table(filename: str, content: bytes) -> list[list]:
    if len(content) > MAX_FILE_BYTES:
        raise _too_large("file")
    if content[:4] == b"PK\x03\x04":  # a zip container: XLSX
        return _read_xlsx(content)
    text = _decode(content)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return _bounded_rows(csv.reader(io.StringIO(text), dialect))


def _cell_text(value) -> str:
    """A cell as text: spreadsheet numbers without their ".0" (a barcode or receipt read as 1001.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if value.bit_length() < 64 else parsing.shown(value)
    return str(value)


def _parse_date(value, tz: ZoneInfo) -> datetime | None:
    """The row's date, or None when it is not one (`parsing.local_datetime`: years 2000 to 2100)."""
    try:
        return parsing.local_datetime(value, tz)
    except errors.DomainError:
        return None


def _refusal(number: int, column: str, refused: errors.DomainError) -> RowError:
    return RowError(number, column, refused.code, refused.params, f"Row {number}: {refused}")


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
        row, row_errors = parse_row(session, number, values, tz, now, products)
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


@query
def parse_row(session, number: int, values: dict, tz, now, products: dict) -> tuple[PosRow | None, list]:
    """One row of the file, or the reasons it is not one. Every value is read by `retail.parsing`."""
    problems = []
    date_value = values.get("date")
    sold_at = _parse_date(date_value, tz) if date_value not in (None, "") else None
    time_value = values.get("time")
    if time_value not in (None, "") and sold_at is not None and isinstance(time_value, str | time):
        time_text = time_value.isoformat() if isinstance(time_value, time) else _fold(time_value[:64])
        sold_at = _parse_date(f"{sold_at.astimezone(tz):%Y-%m-%d} {time_text}", tz) or sold_at
    if sold_at is None or sold_at > now + timedelta(days=1):
        shown = parsing.shown(date_value if date_value is not None else "")
        problems.append(RowError(number, "date", "bad_date", {"value": shown},
                                 f"Row {number}: {shown!r} is not a date."))
    raw_quantity = values.get("quantity")
    try:
        quantity = parsing.quantity(raw_quantity, minimum=-parsing.MAX_QUANTITY, required=True)
        if quantity == 0:
            raise errors.InvalidQuantity(quantity="0")
    except errors.DomainError:
        quantity, shown = None, parsing.shown(_cell_text(raw_quantity))
        problems.append(RowError(number, "quantity", "bad_quantity", {"value": shown},
                                 f"Row {number}: quantity {shown!r} is not a whole number."))
    kind_text = _fold(_cell_text(values.get("kind"))[:MAX_WORD_LENGTH * 4]).lower()
    kind = "return" if kind_text in RETURN_WORDS or (quantity is not None and quantity < 0) else "sale"
    if kind_text and kind_text not in RETURN_WORDS | SALE_WORDS:
        shown = parsing.shown(kind_text)
        problems.append(RowError(number, "type", "bad_kind", {"value": shown},
                                 f"Row {number}: type {shown!r} is neither sale nor return."))
    try:
        sku_text = parsing.sku(values.get("sku"), required=False) or ""
    except errors.DomainError:
        sku_text = None
    if sku_text and sku_text not in products:
        try:
            products[sku_text] = catalogue.by_sku_or_barcode(session, sku_text)
        except errors.UnknownProduct:
            products[sku_text] = None
    product = products.get(sku_text) if sku_text else None
    if product is None:
        shown = sku_text if sku_text is not None else parsing.shown(_cell_text(values.get("sku")))
        problems.append(RowError(number, "sku", "unknown_product", {"sku": shown},
                                 f"Row {number}: no product has SKU or barcode {shown!r}."))
    serials: list[str] = []
    try:
        serials = parsing.serials(_cell_text(values.get("serials")))
    except errors.DomainError as refused:
        problems.append(_refusal(number, "serials", refused))
    else:
        if product is not None and quantity is not None and product.serialised and len(serials) != abs(quantity):
            problems.append(RowError(number, "serials", "serials_required",
                                     {"sku": product.sku, "quantity": abs(quantity), "given": len(serials)},
                                     f"Row {number}: {product.sku} needs {abs(quantity)} serial number(s)."))
    price = None
    try:
        price = parsing.money(values.get("unit_price"), field="unit_price")
    except errors.DomainError:
        shown = parsing.shown(_cell_text(values.get("unit_price")))
        problems.append(RowError(number, "unit_price", "bad_price", {"value": shown},
                                 f"Row {number}: price {shown!r} is not an amount."))
    receipt = None
    try:
        receipt = parsing.reference(_cell_text(values.get("receipt")), field="receipt")
    except errors.DomainError as refused:
        problems.append(_refusal(number, "receipt", refused))
    if problems:
        return None, problems
    return PosRow(number, kind, product.sku, abs(quantity), serials if product.serialised else [], price, sold_at,
                  receipt), problems


def row_key(row: PosRow) -> str:
    """A till row's fingerprint: what makes it the same row in another file (its number and price do not)."""
    parts = (row.kind, row.sku, row.sold_at.astimezone(UTC).isoformat(), row.receipt or "", str(row.quantity),
             " ".join(sorted(row.serials)))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _imported_before(session: Session, store_id: int, rows: list[PosRow]) -> set[int]:
    """The row numbers of rows whose fingerprint an earlier file recorded at this store."""
    by_key: dict[str, list[int]] = {}
    for row in rows:
        by_key.setdefault(row_key(row), []).append(row.row_number)
    keys, found = list(by_key), set()
    for start in range(0, len(keys), KEY_BATCH):
        found.update(session.execute(select(PosImportRow.row_key).where(
            PosImportRow.store_id == store_id, PosImportRow.row_key.in_(keys[start:start + KEY_BATCH]))).scalars())
    return {number for key in found for number in by_key[key]}


class _ImportedMeanwhile(Exception):
    """Another file, confirmed at the same moment, landed this row first."""


class FileTooSlow(errors.DomainError):
    """SQLite has one writer: a file whose rows take longer than `SQLITE_LOCK_BUDGET` to post would make every
    other store's sale wait past the busy timeout and fail. The file is refused whole, with the size to
    split it into."""

    code = "pos_file_too_slow"
    message = "The file takes too long to check in one go here ({done} of {rows} rows): split it into files of about {split} rows."


# The longest a file may hold SQLite's write lock (a preview's dry run or an import): well under the busy timeout
# (retail/db.BUSY_TIMEOUT_MS, 30 s), so that other writers wait for it rather than fail. PostgreSQL locks rows,
# not the database: no budget there.
SQLITE_LOCK_BUDGET = 15.0


def _post(session: Session, store: Location, rows: list[PosRow], actor: User,
          import_id: int | None = None) -> tuple[list[RowError], int]:
    """Post every row through the verbs, each in a savepoint inside the file's transaction; the refusals,
    by row, and how many rows another file landed meanwhile. Returns name their sale by the serials or by
    the receipt (the sale's reference here). With `import_id` (a real import), each row first records its
    fingerprint: a row recorded meanwhile by a concurrent import (the unique index) is skipped. On SQLite the
    rows must be posted within `SQLITE_LOCK_BUDGET` (FileTooSlow otherwise, nothing written)."""
    problems, skipped = [], 0
    budget = SQLITE_LOCK_BUDGET if session.get_bind().dialect.name == "sqlite" else None
    began = monotonic()
    for done, row in enumerate(sorted(rows, key=lambda r: (r.sold_at, r.row_number))):
        if budget is not None and done and monotonic() - began > budget:
            raise FileTooSlow(done=done, rows=len(rows), split=max(100, done // 100 * 100 // 2))
        try:
            with session.begin_nested():
                if import_id is not None:
                    try:
                        with session.begin_nested():
                            session.add(PosImportRow(store_id=store.id, row_key=row_key(row), import_id=import_id,
                                                     row_number=row.row_number))
                            session.flush()
                    except IntegrityError:
                        raise _ImportedMeanwhile() from None
                if row.kind == "sale":
                    sales.sell(session, actor, store_id=store.id, sku=row.sku, quantity=row.quantity,
                               serials=row.serials, unit_price=row.unit_price, reference=row.receipt, at=row.sold_at)
                elif row.serials:
                    returns.record_return(session, actor, store_id=store.id, serials=row.serials, at=row.sold_at)
                elif row.receipt is None:
                    raise errors.MissingValue(field="receipt")
                else:
                    returns.record_return(session, actor, store_id=store.id, receipt=row.receipt, sku=row.sku,
                                          quantity=row.quantity, at=row.sold_at)
        except _ImportedMeanwhile:
            skipped += 1
        except errors.DomainError as refused:
            problems.append(RowError(row.row_number, None, refused.code, refused.params,
                                     f"Row {row.row_number}: {refused}"))
    return problems, skipped


def _load(session: Session, store_id: int, filename: str, content: bytes):
    store = location_by_id(session, store_id)
    digest = hashlib.sha256(content).hexdigest()
    try:
        table = _read_table(filename, content)
    except _TooLarge as refused:
        return store, digest, [], [refused.error]
    except Exception:  # any unreadable file gets one clear error, whatever the parser raised
        return store, digest, [], [RowError(1, None, "unreadable_file", {"filename": filename},
                                            "The file is neither CSV nor XLSX in a known encoding.")]
    rows, problems = _parse_rows(session, store, table)
    return store, digest, rows, problems


def _already(session: Session, store_id: int, digest: str) -> bool:
    return session.execute(select(PosImport.id).where(
        PosImport.store_id == store_id, PosImport.file_sha256 == digest)).first() is not None


def _expire_staged(session: Session) -> None:
    """Delete the staged files older than STAGED_FOR (any store's: they are nobody's any more)."""
    session.execute(delete(PosStagedFile).where(PosStagedFile.created_at < utcnow() - STAGED_FOR))


def _stage(session: Session, store_id: int, actor: User, digest: str, filename: str, content: bytes) -> None:
    """Keep the previewed file for its confirmation (staged again: its time renewed); the store's newest
    MAX_STAGED_PER_STORE files are kept. An upsert: the same file previewed twice at once stages once."""
    _expire_staged(session)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {"filename": filename[:255], "uploader_id": actor.id, "created_at": utcnow()}
    session.execute(insert(PosStagedFile).values(store_id=store_id, file_sha256=digest, content=content, **values)
                    .on_conflict_do_update(index_elements=["store_id", "file_sha256"], set_=values))
    newest = (select(PosStagedFile.file_sha256).where(PosStagedFile.store_id == store_id)
              .order_by(PosStagedFile.created_at.desc(), PosStagedFile.file_sha256).limit(MAX_STAGED_PER_STORE))
    session.execute(delete(PosStagedFile).where(PosStagedFile.store_id == store_id,
                                                PosStagedFile.file_sha256.not_in(newest)))


@verb(STORE)
def preview(session: Session, actor: User, *, store_id: int, filename: str, content: bytes,
            stage: bool = False) -> Preview:
    """Read and check the file, and dry-run its rows through the verbs in a savepoint rolled back at once:
    the errors a confirmation would meet, with nothing of the file written. Rows imported before by another
    file are listed, not dry-run. With `stage`, a file without errors is kept for `confirm` (by its hash)."""
    store, digest, rows, problems = _load(session, store_id, filename, content)
    already = _already(session, store.id, digest)
    before = _imported_before(session, store.id, rows) if rows and not problems and not already else set()
    if not problems and not already:
        dry_run = session.begin_nested()
        try:
            problems, _ = _post(session, store, [r for r in rows if r.row_number not in before], actor)
        finally:
            dry_run.rollback()
    staged = stage and not problems
    if staged:
        _stage(session, store.id, actor, digest, filename, content)
    return Preview(rows=rows, errors=sorted(problems, key=lambda e: e.row_number), file_sha256=digest,
                   already_imported=already, imported_before=sorted(before), staged=staged)


@verb(STORE)
def apply(session: Session, actor: User, *, store_id: int, filename: str, content: bytes) -> Result:
    """Import the file whole or not at all (InvalidFile lists every refused row). The file is claimed first
    by its hash: the same file confirmed twice, also at the same moment, lands once. Rows an earlier file
    landed (by fingerprint) are skipped and counted in `skipped_rows`; the others land."""
    store, digest, rows, problems = _load(session, store_id, filename, content)
    if problems:
        raise InvalidFile(sorted(problems, key=lambda e: e.row_number))
    if _already(session, store.id, digest):
        return Result(imported_rows=0, already_imported=True, skipped_rows=len(rows), filename=filename)
    record = PosImport(store_id=store.id, file_sha256=digest, filename=filename[:255], rows=0, actor_id=actor.id)
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:  # the same file, confirmed at the same moment: the other request lands it
        return Result(imported_rows=0, already_imported=True, skipped_rows=len(rows), filename=filename)
    before = _imported_before(session, store.id, rows)
    problems, meanwhile = _post(session, store, [r for r in rows if r.row_number not in before], actor,
                                import_id=record.id)
    if problems:
        raise InvalidFile(sorted(problems, key=lambda e: e.row_number))
    skipped = len(before) + meanwhile
    record.rows = len(rows) - skipped
    session.flush()
    return Result(imported_rows=record.rows, already_imported=False, skipped_rows=skipped, filename=filename)


_HASH = re.compile(r"[0-9a-f]{64}")


@verb(STORE)
def confirm(session: Session, actor: User, *, store_id: int, file_sha256: str) -> Result:
    """Import the file staged by `preview(stage=True)` under this hash at this store (`apply`), then drop it.
    Confirmed again after it landed: already imported. Not staged (expired, another store's, never
    previewed): StagedFileMissing."""
    digest = file_sha256 if isinstance(file_sha256, str) and _HASH.fullmatch(file_sha256) else None
    _expire_staged(session)
    staged = session.get(PosStagedFile, (store_id, digest)) if digest else None
    if staged is None:
        if digest and _already(session, store_id, digest):
            return Result(imported_rows=0, already_imported=True)
        raise errors.StagedFileMissing(hours=int(STAGED_FOR.total_seconds() // 3600))
    filename, content = staged.filename, bytes(staged.content)
    result = apply(session, actor, store_id=store_id, filename=filename, content=content)
    session.execute(delete(PosStagedFile).where(PosStagedFile.store_id == store_id,
                                                PosStagedFile.file_sha256 == digest))
    return result
