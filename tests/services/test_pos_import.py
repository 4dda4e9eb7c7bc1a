"""POS files as they really come, on SQLite and PostgreSQL: a file lands whole, once, or not at all."""
from __future__ import annotations

import io
import time
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from retail.models import Movement, PosImport, StockBalance
from retail.services import pos_import
from tests.committing import inventory
from tests.factories import small_world


@pytest.fixture
def world(session):
    world = small_world(session)
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-MAX2-BLK", quantity=3,
                               serials=["SN1", "SN2", "SN3"])
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=5)
    return world


def counts(session):
    movements = session.execute(select(func.count()).select_from(Movement)).scalar_one()
    imports = session.execute(select(func.count()).select_from(PosImport)).scalar_one()
    return movements, imports


def case_on_hand(session, world):
    return session.get(StockBalance, (world["a"].id, world["case"].id), populate_existing=True).on_hand


def test_template_imports_and_the_same_file_twice_changes_nothing(session, world):
    content = (b"date,sku,quantity,serials,unit_price,type,receipt\n"
               b"2026-11-20 14:05,RK-MAX2-BLK,1,SN1,2899.00,sale,R-1\n"
               b"2026-11-20 15:30,6970000000024,2,,199,sale,R-2\n"
               b"2026-11-21 11:00,RK-MAX2-BLK,1,SN1,2899.00,return,R-1\n")
    result = pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="till.csv", content=content)
    assert result == pos_import.Result(imported_rows=3, already_imported=False, filename="till.csv")
    assert case_on_hand(session, world) == 3
    sale = session.execute(select(Movement).where(Movement.reference == "R-1", Movement.kind == "sale")).scalar_one()
    # 14:05 in Shanghai is 06:05 UTC
    assert sale.ts.replace(tzinfo=None) == datetime(2026, 11, 20, 6, 5) and float(sale.unit_price) == 2899.0
    before = counts(session)
    again = pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="again.csv", content=content)
    assert again.already_imported and counts(session) == before
    assert pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="x.csv", content=content).already_imported


def test_gb18030_chinese_headers_full_width_digits_and_spaces(session, world):
    content = ("销售日期,条码,数量,串号,单价\r\n"
               " ２０２６/１１/２０ , 6970000000024 , ２ ,, ￥199 \r\n"
               "2026年11月21日,RK-MAX2-BLK,1,SN2 ,2999\r\n").encode("gb18030")
    result = pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="导出.csv", content=content)
    assert result.imported_rows == 2 and case_on_hand(session, world) == 3


def test_utf8_bom_semicolons_and_traditional_headers(session, world):
    content = "\ufeff銷售日期;條碼;數量;序號\n2026-11-20;RK-CASE;1;\n".encode()
    assert pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="pos.csv", content=content).imported_rows == 1


def test_xlsx_with_spreadsheet_serial_dates(session, world):
    book = Workbook()
    sheet = book.active
    sheet.append(["Date", "Barcode", "Qty", "IMEI"])
    sheet.append([46346, 6970000000024, 1, None])  # 46346 is 2026-11-20 as a spreadsheet serial
    sheet.append([datetime(2026, 11, 21, 10, 0), "RK-MAX2-BLK", 1, "SN3"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="pos.xlsx", content=buffer.getvalue()).imported_rows == 2
    dates = session.execute(select(Movement.ts).where(Movement.kind == "sale").order_by(Movement.ts)).scalars().all()
    assert dates[0].replace(tzinfo=None) == datetime(2026, 11, 19, 16, 0)  # midnight in Shanghai


def test_one_bad_row_is_named_and_nothing_is_written(session, world):
    content = (b"date,sku,quantity,serials\n"
               b"2026-11-20,RK-CASE,1,\n"
               b"2026-11-31,RK-CASE,1,\n"     # no 31 November
               b"2026-11-20,NO-SUCH,1,\n"
               b"2026-11-20,RK-MAX2-BLK,2,SN1\n"
               b"2026-11-20,RK-CASE,x,\n")
    before = counts(session)
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="p.csv", content=content)
    assert [(e.row_number, e.code) for e in preview.errors] == [
        (3, "bad_date"), (4, "unknown_product"), (5, "serials_required"), (6, "bad_quantity")]
    with pytest.raises(pos_import.InvalidFile) as refused:
        pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="p.csv", content=content)
    assert [e.row_number for e in refused.value.errors] == [3, 4, 5, 6]
    assert counts(session) == before and case_on_hand(session, world) == 5


def test_a_row_beyond_stock_fails_the_file_at_that_row(session, world):
    content = (b"date,sku,quantity\n2026-11-20,RK-CASE,4\n2026-11-21,RK-CASE,2\n")
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="p.csv", content=content)
    assert [(e.row_number, e.code) for e in preview.errors] == [(3, "insufficient_stock")]
    assert case_on_hand(session, world) == 5  # the dry run was rolled back
    with pytest.raises(pos_import.InvalidFile):
        pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="p.csv", content=content)
    assert case_on_hand(session, world) == 5 and counts(session)[1] == 0


@pytest.mark.parametrize("content, code", [
    (b"", "empty_file"), (b"date,sku\n2026-11-20,RK-CASE\n", "missing_column"),
    (b"PK\x03\x04 not really a workbook", "unreadable_file"),
    (b"date,sku,quantity\n2026-11-20,RK-CASE,1\n2026-11-20,RK-CASE,1\n", "duplicate_row"),
])
def test_unusable_files_get_one_clear_error(session, world, content, code):
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="f.csv", content=content)
    assert code in {e.code for e in preview.errors}


def test_template_is_a_valid_file_layout():
    header = pos_import.template_csv().splitlines()[0].split(",")
    assert header[:3] == ["date", "sku", "quantity"]


# -- bounded files and values (issue 10 items 1, 2, 12 and 14) ---------------------------------------------

def xlsx(rows, *, dimension: str | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """A small workbook; `dimension` rewrites what its sheet declares, `extra` adds zip members."""
    import re
    import zipfile

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    if dimension is None and not extra:
        return buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml" and dimension is not None:
                data, replaced = re.subn(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>'.encode(),
                                         data)
                assert replaced == 1
            target.writestr(item.filename, data)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("dimension, code", [("A1:XFD1048576", "too_many_columns"), ("A1:D1048576", "too_many_rows")])
def test_an_xlsx_declaring_a_huge_sheet_is_refused_without_reading_it(session, world, dimension, code):
    content = xlsx([["date", "sku", "quantity"], ["2026-11-20", "RK-CASE", 1]], dimension=dimension)
    assert len(content) < 10_000
    start = time.perf_counter()
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="bomb.xlsx", content=content)
    assert [e.code for e in preview.errors] == [code] and time.perf_counter() - start < 2


def test_an_xlsx_with_a_small_or_missing_dimension_is_read_as_it_really_is(session, world):
    content = xlsx([["date", "sku", "quantity"], ["2026-11-20", "RK-CASE", 1], ["2026-11-20", "RK-CASE", 2]],
                   dimension="A1")
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="small.xlsx", content=content)
    assert preview.errors == [] and [r.quantity for r in preview.rows] == [1, 2]


def test_an_xlsx_with_a_row_far_down_or_a_column_far_right_is_refused(session, world):
    rows = [["date", "sku", "quantity"], ["2026-11-20", "RK-CASE", 1]]
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.active.cell(row=1_048_576, column=1, value="x")
    buffer = io.BytesIO()
    book.save(buffer)
    start = time.perf_counter()
    far_down = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="f.xlsx", content=buffer.getvalue())
    assert [e.code for e in far_down.errors] == ["too_many_rows"] and time.perf_counter() - start < 2
    wide = Workbook()
    wide.active.append(["date", "sku", "quantity"] + [None] * 100 + ["note"])
    wide.active.append(["2026-11-20", "RK-CASE", 1])
    buffer = io.BytesIO()
    wide.save(buffer)
    assert [e.code for e in pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="w.xlsx",
                                               content=buffer.getvalue()).errors] == ["too_many_columns"]


def test_an_xlsx_that_unpacks_beyond_the_bound_is_refused_before_it_is_opened(session, world):
    padding = b" " * (pos_import.MAX_UNPACKED_BYTES + 1)  # compresses to a few kilobytes
    content = xlsx([["date", "sku", "quantity"], ["2026-11-20", "RK-CASE", 1]], extra={"xl/padding.xml": padding})
    assert len(content) < 200_000
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="zip.xlsx", content=content)
    assert [e.code for e in preview.errors] == ["file_too_large"]


def test_a_csv_with_too_many_columns_is_refused(session, world):
    content = ("date,sku,quantity," + ",".join(f"c{i}" for i in range(100)) + "\n2026-11-20,RK-CASE,1\n").encode()
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="wide.csv", content=content)
    assert [e.code for e in preview.errors] == ["too_many_columns"]


def test_big5_traditional_chinese_headers_are_read_as_big5(session, world):
    content = ("銷售日期,條碼,數量,序號,單價,類型,收據號\r\n"
               "2026-11-20 14:05,RK-CASE,2,,199,銷售,R-1\r\n"
               "2026-11-20 15:00,RK-MAX2-BLK,1,SN2,2999,銷售,R-2\r\n"
               "2026-11-21 10:00,RK-CASE,1,,199,退貨,R-1\r\n").encode("big5")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    result = pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="銷售.csv", content=content)
    assert result.imported_rows == 3 and case_on_hand(session, world) == 4


def test_gbk_files_are_still_read_as_gb18030(session, world):
    content = "销售日期,条码,数量,类型,单号\r\n2026-11-20,RK-CASE,1,退货,R-9\r\n".encode("gbk")
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="gbk.csv", content=content)
    assert [r.kind for r in preview.rows] == ["return"] and preview.rows[0].receipt == "R-9"


@pytest.mark.parametrize("quantity", ["1e1000000", "Infinity", "-Infinity", "NaN", "10000000000000000000",
                                      "9" * 5000, "100001", "2.5", "0"])
def test_attack_quantities_are_row_errors_at_once(session, world, quantity):
    content = f"date,sku,quantity\n2026-11-20,RK-CASE,{quantity}\n2026-11-20,RK-CASE,{quantity}\n".encode()
    before = counts(session)
    start = time.perf_counter()
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="q.csv", content=content)
    assert time.perf_counter() - start < 1
    assert [(e.row_number, e.code) for e in preview.errors] == [(2, "bad_quantity"), (3, "bad_quantity")]
    assert all(len(e.params["value"]) <= 21 for e in preview.errors)
    assert counts(session) == before


def test_attack_cells_in_an_xlsx_are_row_errors(session, world):
    content = xlsx([["date", "sku", "quantity", "unit_price", "receipt"],
                    ["2026-11-20", "RK-CASE", float("inf"), 1, "R-1"],
                    ["2026-11-20", "RK-CASE", 1e300, 1, "R-2"],
                    ["2026-11-20", "RK-CASE", 1, 1e15, "R-3"],
                    [46346, "RK-CASE", 1, 199.9, "R-4"]])
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="cells.xlsx", content=content)
    assert [(e.row_number, e.code) for e in preview.errors] == [(2, "bad_quantity"), (3, "bad_quantity"),
                                                                 (4, "bad_price")]


def test_receipts_prices_and_serials_beyond_their_columns_are_row_errors(session, world):
    long_receipt = "R" * 65
    content = ("date,sku,quantity,serials,unit_price,receipt\n"
               f"2026-11-20,RK-CASE,1,,199,{long_receipt}\n"
               "2026-11-20,RK-CASE,1,,100000000000,R-2\n"
               "2026-11-20,RK-CASE,1,,1e1000000,R-3\n"
               "2026-11-20,RK-CASE,1,,-5,R-4\n"
               f"2026-11-20,RK-MAX2-BLK,1,{'S' * 41},2999,R-5\n"
               "1999-12-31,RK-CASE,1,,199,R-6\n"
               f"2026-11-20,{'X' * 41},1,,199,R-7\n"
               "2026-11-20,RK-CASE,1,,199,R-8\n").encode()
    before = counts(session)
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="cols.csv", content=content)
    assert [(e.row_number, e.column, e.code) for e in preview.errors] == [
        (2, "receipt", "too_long"), (3, "unit_price", "bad_price"), (4, "unit_price", "bad_price"),
        (5, "unit_price", "bad_price"), (6, "serials", "serial_too_long"), (7, "date", "bad_date"),
        (8, "sku", "unknown_product")]
    assert preview.errors[0].params == {"field": "receipt", "max_length": 64}
    with pytest.raises(pos_import.InvalidFile):
        pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="cols.csv", content=content)
    assert counts(session) == before and case_on_hand(session, world) == 5


def test_the_largest_values_the_columns_hold_are_accepted(session, world):
    """The longest receipt lands; the largest amount the price column holds is read, then refused by the
    price band of `sales.sell` (issue 10 item 6), never a DataError."""
    receipt = "R" * 64
    content = f"date,sku,quantity,unit_price,receipt\n2026-11-20,RK-CASE,1,238.80,{receipt}\n".encode()
    result = pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="max.csv", content=content)
    assert result.imported_rows == 1
    sale = session.execute(select(Movement).where(Movement.reference == receipt)).scalar_one()
    assert sale.unit_price == Decimal("238.80")  # 120 % of the list price, the top of the band
    largest = content.replace(b"238.80", b"9999999999.99").replace(receipt.encode(), b"R-2")
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="max.csv", content=largest)
    assert [(e.row_number, e.code) for e in preview.errors] == [(2, "price_out_of_band")]


def test_more_serials_in_a_cell_than_the_bound_is_a_row_error(session, world):
    serials = " ".join(f"SN{i}" for i in range(600))
    content = f"date,sku,quantity,serials\n2026-11-20,RK-MAX2-BLK,600,{serials}\n".encode()
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="s.csv", content=content)
    assert [(e.column, e.code) for e in preview.errors] == [("serials", "too_many")]


def test_a_return_beyond_the_sale_is_refused_with_the_forms_code(session, world):
    """One home per rule (issue 9): the file's return goes through the return form's verb, so a return of 3
    cases against a receipt that sold 2 is refused with the same code, and nothing lands."""
    from retail import errors
    from retail.services import returns

    sale = (b"date,sku,quantity,serials,unit_price,type,receipt\n"
            b"2026-11-20 15:30,RK-CASE,2,,199,sale,R-7\n")
    assert pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="s.csv",
                            content=sale).imported_rows == 1
    sale_id = session.execute(select(Movement.id).where(Movement.reference == "R-7")).scalar_one()
    before = counts(session), case_on_hand(session, world)
    too_many = (b"date,sku,quantity,serials,unit_price,type,receipt\n"
                b"2026-11-21 11:00,RK-CASE,3,,199,return,R-7\n")
    preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="r.csv", content=too_many)
    assert [(e.row_number, e.code) for e in preview.errors] == [(2, "return_exceeds_sale")]
    with pytest.raises(pos_import.InvalidFile) as refused:
        pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="r.csv", content=too_many)
    with pytest.raises(errors.DomainError) as from_the_form:
        returns.record_return(session, world["staff"], store_id=world["a"].id, sale_id=sale_id, quantity=3)
    assert refused.value.errors[0].code == from_the_form.value.code == "return_exceeds_sale"
    assert (counts(session), case_on_hand(session, world)) == before
    # Within what was sold, the same file shape lands, linked to its sale.
    fine = too_many.replace(b",3,,199,return", b",2,,199,return")
    assert pos_import.apply(session, world["staff"], store_id=world["a"].id, filename="ok.csv",
                            content=fine).imported_rows == 1
    assert session.execute(select(Movement.reference).where(Movement.kind == "return")).scalars().all() == [
        f"SALE-{sale_id}"]


def test_a_return_needs_its_sale_at_this_store(session, world):
    """A return without serials names its sale by the receipt; another store's receipt (or none) is refused."""
    inventory.receive_purchase(session, location_id=world["b"].id, sku="RK-CASE", quantity=2)
    inventory.record_sale(session, store_id=world["b"].id, sku="RK-CASE", reference="R-B")
    other = session.execute(select(Movement.id).where(Movement.reference == "R-B")).scalar_one()
    header = b"date,sku,quantity,serials,unit_price,type,receipt\n"
    for receipt, code in ((b"R-B", "not_found"), (f"SALE-{other}".encode(), "not_found"), (b"", "missing_value")):
        content = header + b"2026-11-21 11:00,RK-CASE,1,,199,return," + receipt + b"\n"
        preview = pos_import.preview(session, world["staff"], store_id=world["a"].id, filename="r.csv",
                                     content=content)
        assert [e.code for e in preview.errors] == [code], receipt
