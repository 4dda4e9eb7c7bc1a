"""retail/parsing.py: one bounded parser per kind of input. Each attack value from issue 10 is refused
with a domain error (never OverflowError, never a DataError later) and in well under a second."""
from __future__ import annotations

import ast
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from retail import errors, parsing

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAST = 0.5  # seconds: every refusal below must take less


def ident(value) -> str:
    """A test id for any value, huge integers included (pytest would call str on them)."""
    return f"{type(value).__name__}:{parsing.shown(value)}"


def timed(call, *args, **kwargs):
    """Run `call`, return (result or raised error, seconds)."""
    start = time.perf_counter()
    try:
        outcome = call(*args, **kwargs)
    except errors.DomainError as refused:
        outcome = refused
    return outcome, time.perf_counter() - start


# -- the module stays pure --------------------------------------------------------------------------------

def test_parsing_imports_only_the_standard_library_and_errors():
    tree = ast.parse(Path(parsing.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module if node.module.startswith("retail") else node.module.split(".")[0])
    assert imported <= {"__future__", "math", "re", "unicodedata", "collections", "datetime", "decimal",
                        "itertools", "zoneinfo", "retail", "retail.errors"}, imported
    assert "retail.errors" in imported or "retail" in imported


# -- quantities -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (3, 3), ("3", 3), (" 12 ", 12), ("３", 3), ("１２", 12), (3.0, 3), (Decimal("4"), 4), (Decimal("4.00"), 4),
    ("5.0", 5), ("+2", 2), ("007", 7), (parsing.MAX_QUANTITY, parsing.MAX_QUANTITY),
])
def test_quantity_reads_what_people_and_spreadsheets_write(value, expected):
    assert parsing.quantity(value) == expected


@pytest.mark.parametrize("value", [
    "1e1000000", "1E5", "Infinity", "-Infinity", "inf", "NaN", "nan", "10000000000000000000", 10 ** 19,
    10 ** 100_000, "9" * 5000, float("inf"), float("nan"), 1e300, Decimal("1e1000000"), Decimal("NaN"),
    Decimal("Infinity"), True, False, "2.5", 2.5, Decimal("2.5"), "0", 0, "-1", -1, "x", "1 2", "1,000",
    "0x10", "١٢", parsing.MAX_QUANTITY + 1, str(parsing.MAX_QUANTITY + 1), 2 ** 31, [1], b"1",
], ids=ident)
def test_quantity_refuses_attacks_and_nonsense_quickly(value):
    refused, seconds = timed(parsing.quantity, value)
    assert isinstance(refused, errors.InvalidQuantity), refused
    assert refused.code == "invalid_quantity" and seconds < FAST
    assert len(refused.params["quantity"]) <= parsing.SHOWN_LENGTH + 1


def test_quantity_empty_gives_the_default_or_is_missing():
    assert parsing.quantity(None) is None and parsing.quantity("  ", default=1) == 1
    with pytest.raises(errors.MissingValue) as missing:
        parsing.quantity("", required=True)
    assert missing.value.params == {"field": "quantity"}


def test_quantity_bounds_are_the_callers():
    assert parsing.quantity("-3", minimum=-10) == -3
    with pytest.raises(errors.InvalidQuantity):
        parsing.quantity("11", maximum=10)


def test_count_accepts_zero_and_refuses_negatives():
    assert parsing.count("0") == 0 and parsing.count("０") == 0 and parsing.count(7.0) == 7
    for value in ("-1", "1e3", "100001"):
        with pytest.raises(errors.InvalidQuantity):
            parsing.count(value)


def test_every_quantity_fits_an_sql_integer():
    assert parsing.MAX_QUANTITY < parsing.MAX_INTEGER == 2 ** 31 - 1


# -- whole numbers for settings and ids ---------------------------------------------------------------------

def test_whole_is_bounded_and_refused_as_an_invalid_value():
    assert parsing.whole("14", field="lead_time_days", minimum=0, maximum=365) == 14
    assert parsing.whole("", field="moq", minimum=1, maximum=10_000, default=1) == 1
    for value in ("366", "-1", "1e2", "Infinity", "10000000000000000000"):
        with pytest.raises(errors.InvalidValue) as refused:
            parsing.whole(value, field="lead_time_days", minimum=0, maximum=365)
        assert refused.value.params["field"] == "lead_time_days"


def test_identifier_refuses_what_overflows_postgresql():
    assert parsing.identifier("2147483647", field="sale") == 2 ** 31 - 1
    for value in ("2147483648", "99999999999999999999", "0", "-5"):
        with pytest.raises(errors.InvalidValue):
            parsing.identifier(value, field="sale")


# -- serial numbers -----------------------------------------------------------------------------------------

def test_serials_every_separator_and_duplicates_dropped_first_kept():
    scanned = "SN1\nSN2 SN3,SN4;SN5，SN6、SN7；SN8\r\nSN1\t ＳＮ９ SN2/SN10|SN11"
    assert parsing.serials(scanned) == ["SN1", "SN2", "SN3", "SN4", "SN5", "SN6", "SN7", "SN8", "SN9", "SN10",
                                        "SN11"]
    assert parsing.serials(["SN2", " SN1 ", "", None, "SN2"]) == ["SN2", "SN1"]
    assert parsing.serials(None) == [] and parsing.serials("  \n ") == []


def test_serials_over_the_limit_are_refused():
    with pytest.raises(errors.TooMany) as refused:
        parsing.serials(" ".join(f"SN{i}" for i in range(parsing.MAX_SERIALS + 1)))
    assert refused.value.code == "too_many" and refused.value.params == {"field": "serials",
                                                                         "limit": parsing.MAX_SERIALS}
    assert len(parsing.serials(" ".join(f"SN{i}" for i in range(parsing.MAX_SERIALS)))) == parsing.MAX_SERIALS
    with pytest.raises(errors.TooMany):
        parsing.serials("A B C", limit=2)


def test_twenty_thousand_serials_are_refused_quickly():
    many = [f"SN{i:08d}" for i in range(20_000)]
    refused, seconds = timed(parsing.serials, many)
    assert isinstance(refused, errors.TooMany | errors.TooLong) and seconds < FAST
    refused, seconds = timed(parsing.serials, " ".join(many))
    assert isinstance(refused, errors.TooMany | errors.TooLong) and seconds < FAST


def test_de_duplication_is_linear(monkeypatch):
    # with the bounds lifted, 20,000 distinct serials (2.8 s by list membership) take milliseconds
    monkeypatch.setattr(parsing, "MAX_SERIALS_TEXT", 10 ** 7)
    many = [f"SN{i:08d}" for i in range(20_000)]
    kept, seconds = timed(parsing.serials, many + many, limit=20_000)
    assert kept == many and seconds < FAST


def test_a_huge_serials_field_is_refused_before_it_is_split():
    field = "SN1234567 " * 760_000  # the 7.6 MB multipart field of issue 10
    refused, seconds = timed(parsing.serials, field)
    assert isinstance(refused, errors.TooLong) and refused.params["max_length"] == parsing.MAX_SERIALS_TEXT
    assert seconds < FAST


def test_a_serial_longer_than_the_column_is_refused():
    long = "S" * (parsing.MAX_SERIAL_LENGTH + 1)
    with pytest.raises(errors.SerialTooLong) as refused:
        parsing.serials(f"SN1 {long}")
    assert refused.value.code == "serial_too_long" and len(refused.value.params["serial"]) <= 21
    assert parsing.serials("S" * parsing.MAX_SERIAL_LENGTH) == ["S" * parsing.MAX_SERIAL_LENGTH]


# -- text ---------------------------------------------------------------------------------------------------

def test_text_folds_strips_and_removes_control_characters():
    assert parsing.text("  ＡＢＣ１２３ ", field="note") == "ABC123"
    assert parsing.text("line\r\nnext\tcol\x00\x07\x1b", field="note") == "line\nnext\tcol"
    assert parsing.text("SN1\rSN2\x1dSN3", field="serials") == "SN1\nSN2 SN3"
    assert parsing.serials(parsing.text("SN1\rSN2\x1dSN3\r", field="serials")) == ["SN1", "SN2", "SN3"]
    assert parsing.text("   ", field="note") is None and parsing.text(None, field="note") is None


def test_text_longer_than_the_limit_is_refused_not_cut():
    assert parsing.text("x" * 240, field="note") == "x" * 240
    with pytest.raises(errors.TooLong) as refused:
        parsing.text("x" * 241, field="note")
    assert refused.value.code == "too_long" and refused.value.params == {"field": "note", "max_length": 240}
    huge, seconds = timed(parsing.text, "字" * 100_000, field="note")
    assert isinstance(huge, errors.TooLong) and seconds < FAST


def test_required_text_is_missing_when_empty():
    with pytest.raises(errors.MissingValue):
        parsing.text(" \n ", field="reason", required=True)


def test_reference_is_one_bounded_line():
    assert parsing.reference(" R-1001 ", field="receipt") == "R-1001"
    with pytest.raises(errors.TooLong):
        parsing.reference("R" * 65, field="receipt")
    with pytest.raises(errors.InvalidValue):
        parsing.reference("R-1\nR-2", field="receipt")


def test_sku_reads_barcodes_from_spreadsheet_cells():
    assert parsing.sku(" rk-case ") == "rk-case"
    assert parsing.sku(6970000000024) == parsing.sku(6970000000024.0) == parsing.sku("6970000000024.0") \
        == "6970000000024"
    with pytest.raises(errors.MissingValue):
        parsing.sku("")
    with pytest.raises(errors.TooLong):
        parsing.sku("X" * 41)
    with pytest.raises(errors.TooLong):
        parsing.sku(10 ** 100_000)


def test_store_code_is_upper_case_and_bounded():
    assert parsing.store_code(" ｓｈ-001 ") == "SH-001"
    with pytest.raises(errors.TooLong):
        parsing.store_code("S" * 17)
    with pytest.raises(errors.InvalidValue):
        parsing.store_code("SH 001")


# -- money --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2999.00", "2999.00"), ("199", "199.00"), (" ￥1,299.5 ", "1299.50"), ("HK$ 12", "12.00"),
    ("99元", "99.00"), (199, "199.00"), (199.9, "199.90"), (Decimal("0.1"), "0.10"), ("0", "0.00"),
    ("9999999999.99", "9999999999.99"), (-0.0, "0.00"), (Decimal("-0"), "0.00"),
])
def test_money_reads_prices(value, expected):
    assert str(parsing.money(value)) == expected


@pytest.mark.parametrize("value", [
    "1e1000000", "1E3", "Infinity", "NaN", float("inf"), float("nan"), Decimal("1e1000000"), Decimal("NaN"),
    "-1", -1, "10000000000.00", 10 ** 10, 10 ** 100_000, "1.005", 1.005, "abc", "1.2.3", True, "9" * 10_000,
], ids=ident)
def test_money_refuses_what_numeric_12_2_cannot_hold(value):
    refused, seconds = timed(parsing.money, value, field="unit_price")
    assert isinstance(refused, errors.InvalidMoney), refused
    assert refused.code == "invalid_money" and refused.params["field"] == "unit_price" and seconds < FAST


def test_money_empty_is_the_default():
    assert parsing.money("") is None and parsing.money(None, default=Decimal("1")) == Decimal("1")
    with pytest.raises(errors.MissingValue):
        parsing.money(" ", required=True)


# -- dates --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2026-11-20 14:05", datetime(2026, 11, 20, 6, 5, tzinfo=UTC)),
    ("2026/11/20", datetime(2026, 11, 19, 16, 0, tzinfo=UTC)),
    ("２０２６/１１/２０ 14:05", datetime(2026, 11, 20, 6, 5, tzinfo=UTC)),
    ("2026年11月21日", datetime(2026, 11, 20, 16, 0, tzinfo=UTC)),
    ("20261120", datetime(2026, 11, 19, 16, 0, tzinfo=UTC)),
    ("2026-11-20T14:05:00+08:00", datetime(2026, 11, 20, 6, 5, tzinfo=UTC)),
    ("2026-11-20T06:05:00Z", datetime(2026, 11, 20, 6, 5, tzinfo=UTC)),
    (46346, datetime(2026, 11, 19, 16, 0, tzinfo=UTC)),
    ("46346.5", datetime(2026, 11, 20, 4, 0, tzinfo=UTC)),
    (datetime(2026, 11, 21, 10, 0), datetime(2026, 11, 21, 2, 0, tzinfo=UTC)),
    (date(2026, 11, 21), datetime(2026, 11, 20, 16, 0, tzinfo=UTC)),
])
def test_local_datetime_reads_tills_and_spreadsheets(value, expected):
    parsed = parsing.local_datetime(value, SHANGHAI)
    assert parsed == expected and parsed.tzinfo is not None and parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("value", [
    "2026-11-31", "1999-12-31", "2101-01-01", "9999-12-31", "tomorrow", "1e1000000", float("nan"),
    float("inf"), 10 ** 100_000, 5, 99_999, "2026-11-20" * 1000, True, datetime(1900, 1, 1),
], ids=ident)
def test_local_datetime_refuses_bad_and_out_of_range_dates(value):
    refused, seconds = timed(parsing.local_datetime, value, SHANGHAI)
    assert isinstance(refused, errors.InvalidDate), refused
    assert refused.code == "invalid_date" and seconds < FAST


def test_local_datetime_empty_is_missing():
    with pytest.raises(errors.MissingValue):
        parsing.local_datetime("  ", SHANGHAI)


# -- every new error has a sentence in every language --------------------------------------------------------

def test_new_error_codes_have_messages():
    from retail.messages import MESSAGES
    for error in (errors.TooMany, errors.TooLong, errors.SerialTooLong, errors.InvalidMoney, errors.InvalidDate):
        assert error.code in MESSAGES
