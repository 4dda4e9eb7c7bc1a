"""Parsers: what a person typed, a till exported or a partner posted, turned into bounded plain values.

One function per kind of input. Web forms, the POS import, the API and the services call these, so
every entry point reads a value the same way and refuses it with the same error. Each parser:

- folds the text first (NFKC: full-width digits and letters from Chinese keyboards, １２３ -> 123);
- checks the length of the raw input BEFORE any conversion, so no input costs more than linear time
  (`int(Decimal("1e1000000"))` took 47 s; here such text is refused at its length or its exponent);
- refuses rather than truncates, with a `retail.errors.DomainError` carrying a stable `code` and params
  (the value shown in params is cut to `SHOWN_LENGTH` characters).

Pure: the standard library and `retail.errors` only (no Flask, no database). Looking a SKU up, or
judging a value against stock, belongs to the services; these parsers only read the value.

Bounds (module constants, chosen to fit every column they end up in):

    MAX_QUANTITY      100,000    units in one line (sale, return, receipt, count, transfer, order);
                                 fits any SQL INTEGER (PostgreSQL's is 2,147,483,647)
    MAX_INTEGER     2,147,483,647  any whole number stored as INTEGER (ids, settings)
    MAX_NUMBER_TEXT         20   characters of a number typed as text (sign, digits, ".0")
    MAX_SERIALS            500   serial numbers in one request
    MAX_LINES            2,000   lines (one per SKU) in one form or request: a count, an order
    MAX_SERIAL_LENGTH       40   characters of one serial (SerialUnit.serial is VARCHAR(40))
    MAX_SERIALS_TEXT    32,768   characters of a serials field, before it is split
    MAX_TEXT_LENGTH        240   characters of a note or reason (Movement.note is VARCHAR(240))
    MAX_FORM_TEXT       32,768   characters of any other typed field
    MAX_REFERENCE_LENGTH    64   characters of a receipt or reference (Movement.reference)
    MAX_SKU_LENGTH          40   characters of a SKU or barcode (Product.sku)
    MAX_STORE_CODE_LENGTH   16   characters of a store code (Location.code)
    MONEY_DIGITS            10   integer digits of an amount, with 2 decimals: NUMERIC(12, 2)
    MAX_MONEY_TEXT          32   characters of an amount typed as text (currency signs, separators)
    MIN_YEAR, MAX_YEAR  2000, 2100  years of a date
    MAX_DATE_TEXT           40   characters of a date typed as text
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from itertools import islice
from zoneinfo import ZoneInfo

from retail import errors

MAX_QUANTITY = 100_000
MAX_INTEGER = 2_147_483_647
MAX_NUMBER_TEXT = 20
MAX_SERIALS = 500
MAX_LINES = 2_000
MAX_SERIAL_LENGTH = 40
MAX_SERIALS_TEXT = 32_768
MAX_TEXT_LENGTH = 240
MAX_FORM_TEXT = 32_768
MAX_REFERENCE_LENGTH = 64
MAX_SKU_LENGTH = 40
MAX_STORE_CODE_LENGTH = 16
MONEY_DIGITS = 10
MAX_MONEY = Decimal(10) ** MONEY_DIGITS - Decimal("0.01")
MAX_MONEY_TEXT = 32
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_DATE_TEXT = 40
SHOWN_LENGTH = 20

# Separators between scanned serials: line breaks and other whitespace, commas and semicolons (full-width
# ones fold to these under NFKC), the ideographic comma, slash and bar (till exports), control characters.
SERIAL_SEPARATORS = re.compile(r"[\s,;，、；/|\x00-\x1f\x7f-\x9f]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # Cc except tab (\x09) and newline (\x0a)
_WHOLE = re.compile(r"([+-]?)([0-9]+)(?:\.0*)?", re.ASCII)
_MONEY = re.compile(r"([0-9]+)(?:\.([0-9]*))?", re.ASCII)
_CURRENCY = re.compile(r"^(?:HK\$|US\$|RMB|CNY|HKD|[¥$])|(?:RMB|CNY|HKD|元)$", re.IGNORECASE)
EXCEL_EPOCH = datetime(1899, 12, 30)
EXCEL_SERIALS = (20_000, 80_000)  # spreadsheet day numbers accepted as dates (1954 .. 2119, then the years)
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y/%m/%d", "%Y.%m.%d %H:%M", "%Y.%m.%d", "%Y%m%d", "%d/%m/%Y %H:%M", "%d/%m/%Y",
                "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")


def fold(value) -> str:
    """NFKC, the ideographic space as a space, surrounding whitespace away. Callers bound the length."""
    return unicodedata.normalize("NFKC", str(value)).replace("\u3000", " ").strip()


def shown(value) -> str:
    """A value as an error message shows it: at most `SHOWN_LENGTH` characters (never `str` of a huge int)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return ("-" if value < 0 else "") + "9" * SHOWN_LENGTH + "…"
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    text = text[:SHOWN_LENGTH * 4]
    text = _CONTROL.sub("", text).replace("\n", " ").replace("\t", " ")
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH] + "…"


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- whole numbers -----------------------------------------------------------------------------------------

def _whole_number(value, refuse) -> int:
    """The integer in `value`, or `refuse()` raised. Bounded work: no conversion of an unbounded input."""
    if isinstance(value, bool):
        raise refuse()
    if isinstance(value, int):
        return value  # the caller compares it with its bounds, which is cheap for any size
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer() or abs(value) > 2.0 ** 63:
            raise refuse()
        return int(value)
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() > 18:
            raise refuse()
        number = int(value)  # at most 19 digits before the point: cheap
        if number != value:
            raise refuse()
        return number
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_TEXT * 4:  # even spaces and full-width digits stay below this
            raise refuse()
        text = fold(value).replace("\u2212", "-")  # the minus sign some spreadsheets write
        match = _WHOLE.fullmatch(text) if len(text) <= MAX_NUMBER_TEXT else None
        if match is None:
            raise refuse()
        sign, digits = match.groups()
        return -int(digits) if sign == "-" else int(digits)
    raise refuse()


def _bounded_whole(value, *, minimum: int, maximum: int, default, required: bool, field: str, refuse) -> int | None:
    if _empty(value):
        if default is None and required:
            raise errors.MissingValue(field=field)
        return default
    number = _whole_number(value, refuse)
    if not minimum <= number <= maximum:
        raise refuse()
    return number


def quantity(value, *, field: str = "quantity", minimum: int = 1, maximum: int = MAX_QUANTITY,
             default: int | None = None, required: bool = False) -> int | None:
    """A number of units: an int, an integral finite float (spreadsheets give 3.0), a Decimal, or text
    ("３", " 12 ", "5.0"). Empty gives `default` (MissingValue when `required` and no default).
    Refused with `InvalidQuantity`: booleans, NaN, infinities, exponents, fractions, and anything outside
    [minimum, maximum]."""
    return _bounded_whole(value, minimum=minimum, maximum=maximum, default=default, required=required,
                          field=field, refuse=lambda: errors.InvalidQuantity(quantity=shown(value)))


def count(value, *, field: str = "counted", minimum: int = 0, maximum: int = MAX_QUANTITY,
          default: int | None = None, required: bool = False) -> int | None:
    """A counted quantity: as `quantity`, but zero is a count."""
    return quantity(value, field=field, minimum=minimum, maximum=maximum, default=default, required=required)


def whole(value, *, field: str, minimum: int = 0, maximum: int = MAX_INTEGER, default: int | None = None,
          required: bool = False) -> int | None:
    """A whole-number setting (lead time, city tier, MOQ, an id): refused with `InvalidValue(field, value)`."""
    return _bounded_whole(value, minimum=minimum, maximum=maximum, default=default, required=required,
                          field=field, refuse=lambda: errors.InvalidValue(field=field, value=shown(value)))


def identifier(value, *, field: str, default: int | None = None, required: bool = False) -> int | None:
    """A row id typed or posted (a sale number): a whole number from 1 to `MAX_INTEGER`."""
    return whole(value, field=field, minimum=1, maximum=MAX_INTEGER, default=default, required=required)


# -- text ---------------------------------------------------------------------------------------------------

def text(value, *, field: str, max_length: int = MAX_TEXT_LENGTH, required: bool = False) -> str | None:
    """Free text: NFKC, control characters other than newline and tab made spaces, stripped. Longer than
    `max_length` is refused with `TooLong` (never cut); empty gives None, or MissingValue when required."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        value = str(value)
    if len(value) > max(4 * max_length, max_length + 64):  # refused before any work on the text
        raise errors.TooLong(field=field, max_length=max_length)
    # a lone CR (a scanner's terminator) is a line break; other control characters become spaces, so the
    # words (or serials) they separated stay apart
    cleaned = _CONTROL.sub(" ", fold(value).replace("\r\n", "\n").replace("\r", "\n")).strip()
    if len(cleaned) > max_length:
        raise errors.TooLong(field=field, max_length=max_length)
    if not cleaned:
        if required:
            raise errors.MissingValue(field=field)
        return None
    return cleaned


def reference(value, *, field: str, max_length: int = MAX_REFERENCE_LENGTH,
              required: bool = False) -> str | None:
    """A receipt number or reference code: text on one line, at most `max_length` characters."""
    cleaned = text(value, field=field, max_length=max_length, required=required)
    if cleaned is not None and ("\n" in cleaned or "\t" in cleaned):
        raise errors.InvalidValue(field=field, value=shown(cleaned))
    return cleaned


def sku(value, *, field: str = "sku", required: bool = True) -> str | None:
    """A SKU or barcode as typed, scanned or exported (a barcode cell read as 6970000000024.0 included).
    The lookup (by SKU or barcode) is the services' job; this only reads the key."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value) if abs(value) < 10 ** MAX_SKU_LENGTH else "9" * (MAX_SKU_LENGTH + 1)
    cleaned = reference(value, field=field, max_length=MAX_SKU_LENGTH, required=required)
    if cleaned is None:
        return None
    if re.fullmatch(r"[0-9]+\.0", cleaned):
        cleaned = cleaned[:-2]
    if any(c.isspace() for c in cleaned):
        raise errors.UnknownProduct(sku=shown(cleaned))
    return cleaned


def store_code(value, *, field: str = "code", required: bool = True) -> str | None:
    """A store or warehouse code: folded, upper case, no spaces, at most `MAX_STORE_CODE_LENGTH` characters."""
    cleaned = reference(value, field=field, max_length=MAX_STORE_CODE_LENGTH, required=required)
    if cleaned is None:
        return None
    if any(c.isspace() for c in cleaned):
        raise errors.InvalidValue(field=field, value=shown(cleaned))
    return cleaned.upper()


# -- serial numbers -----------------------------------------------------------------------------------------

def serials(value: str | Sequence[str] | None, *, limit: int = MAX_SERIALS, field: str = "serials") -> list[str]:
    """Serial numbers as scanned: one a line, or separated by spaces, commas, semicolons (full-width too),
    the ideographic comma, slashes or bars. Folded (NFKC) and stripped; duplicates dropped, the first kept
    (a set: linear time). A serial longer than `MAX_SERIAL_LENGTH` is refused (`SerialTooLong`), more than
    `limit` distinct serials too (`TooMany`), and raw input longer than `MAX_SERIALS_TEXT` (`TooLong`)."""
    if value is None:
        return []
    if isinstance(value, str):
        items: Sequence = (value,)
        size = len(value)
    else:
        if isinstance(value, bytes | bytearray):
            raise errors.InvalidValue(field=field, value=shown(value))
        items = value if isinstance(value, Sequence) else list(islice(value, MAX_SERIALS_TEXT + 1))
        if len(items) > MAX_SERIALS_TEXT:
            raise errors.TooMany(field=field, limit=limit)
        size = 0
        for item in items:
            if item is not None and not isinstance(item, str):
                raise errors.InvalidValue(field=field, value=shown(item))
            size += len(item or "")
    if size > MAX_SERIALS_TEXT:
        raise errors.TooLong(field=field, max_length=MAX_SERIALS_TEXT)
    seen: dict[str, None] = {}
    for item in items:
        if not item:
            continue
        for serial in SERIAL_SEPARATORS.split(unicodedata.normalize("NFKC", item)):
            if not serial or serial in seen:
                continue
            if len(serial) > MAX_SERIAL_LENGTH:
                raise errors.SerialTooLong(serial=shown(serial), max_length=MAX_SERIAL_LENGTH)
            seen[serial] = None
            if len(seen) > limit:
                raise errors.TooMany(field=field, limit=limit)
    return list(seen)


# -- money --------------------------------------------------------------------------------------------------

def money(value, *, field: str = "price", default: Decimal | None = None, required: bool = False) -> Decimal | None:
    """An amount: at most `MONEY_DIGITS` integer digits and 2 decimals (NUMERIC(12, 2)), finite, not negative.
    Text may carry a currency sign (¥, HK$, $, RMB, 元) and thousands separators; exponents are refused.
    Refused with `InvalidMoney(field, value)`; empty gives `default` (MissingValue when required)."""
    def refuse():
        return errors.InvalidMoney(field=field, value=shown(value))

    if _empty(value):
        if default is None and required:
            raise errors.MissingValue(field=field)
        return default
    if isinstance(value, bool):
        raise refuse()
    if isinstance(value, int):
        if value.bit_length() > 64 or not 0 <= value <= MAX_MONEY:  # never a Decimal of a huge int
            raise refuse()
        return Decimal(value).quantize(Decimal("0.01"))
    if isinstance(value, float):
        if not math.isfinite(value) or not 0 <= value <= MAX_MONEY:
            raise refuse()
        rounded = round(value, 2)
        if abs(value - rounded) > 1e-6:  # 199.9 read back as 199.90000000000001 is still 199.90
            raise refuse()
        return Decimal(f"{rounded:.2f}").copy_abs()  # -0.0 is 0.00
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() >= MONEY_DIGITS or value < 0:
            raise refuse()
        amount = value.quantize(Decimal("0.01"))
        if amount != value:
            raise refuse()
        return amount.copy_abs()  # Decimal("-0") is 0.00
    if not isinstance(value, str) or len(value) > MAX_MONEY_TEXT * 4:
        raise refuse()
    text_ = fold(value)
    if len(text_) > MAX_MONEY_TEXT:
        raise refuse()
    text_ = _CURRENCY.sub("", text_.replace(" ", "")).replace(",", "")
    match = _MONEY.fullmatch(text_)
    if match is None:
        raise refuse()
    digits, decimals = match.group(1).lstrip("0"), (match.group(2) or "").rstrip("0")
    if len(digits) > MONEY_DIGITS or len(decimals) > 2:
        raise refuse()
    try:
        return Decimal(text_).quantize(Decimal("0.01"))
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        raise refuse() from None


# -- dates --------------------------------------------------------------------------------------------------

def local_datetime(value, tz: ZoneInfo, *, field: str = "date") -> datetime:
    """A moment as a till or a person writes it, in the store's time zone `tz`; returned aware, in UTC.

    Accepted: datetime and date objects (naive ones are local time), spreadsheet day numbers (46346 is
    2026-11-20), ISO 8601 text (with a time zone or not), and the common local layouts (2026/11/20 14:05,
    2026年11月20日, 20261120, 20/11/2026). Years from `MIN_YEAR` to `MAX_YEAR`. Refused with
    `InvalidDate(field, value)`; empty with MissingValue."""
    def refuse():
        return errors.InvalidDate(field=field, value=shown(value))

    if _empty(value):
        raise errors.MissingValue(field=field)
    if isinstance(value, datetime):
        local = value
    elif isinstance(value, date):
        local = datetime.combine(value, time())
    elif isinstance(value, bool):
        raise refuse()
    elif isinstance(value, int | float | Decimal) or (
            isinstance(value, str) and len(value) <= MAX_DATE_TEXT
            and re.fullmatch(r"[0-9]{5}(\.[0-9]{1,12})?", fold(value), re.ASCII)):
        try:
            day = float(value if not isinstance(value, str) else fold(value))
        except (OverflowError, ValueError):
            raise refuse() from None
        if not EXCEL_SERIALS[0] < day < EXCEL_SERIALS[1]:  # NaN fails this too
            raise refuse()
        local = EXCEL_EPOCH + timedelta(days=day)
    elif isinstance(value, str):
        if len(value) > MAX_DATE_TEXT * 2:
            raise refuse()
        text_ = re.sub(r"\s+", " ", fold(value))
        if len(text_) > MAX_DATE_TEXT:
            raise refuse()
        local = _strptime(text_)
        if local is None:
            raise refuse()
    else:
        raise refuse()
    if not MIN_YEAR <= local.year <= MAX_YEAR:
        raise refuse()
    return local.replace(tzinfo=tz).astimezone(UTC) if local.tzinfo is None else local.astimezone(UTC)


def _strptime(text_: str) -> datetime | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text_, fmt)
        except ValueError:
            continue
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9:]+)?", text_, re.ASCII):
        try:
            return datetime.fromisoformat(text_.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None
