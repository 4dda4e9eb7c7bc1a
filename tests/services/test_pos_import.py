"""POS files as they really come, on SQLite and PostgreSQL: a file lands whole, once, or not at all."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from retail.models import Movement, PosImport, StockBalance
from retail.services import inventory, pos_import
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
    result = pos_import.apply(session, store_id=world["a"].id, filename="till.csv", content=content, actor_id=None)
    assert result == pos_import.Result(imported_rows=3, already_imported=False)
    assert case_on_hand(session, world) == 3
    sale = session.execute(select(Movement).where(Movement.reference == "R-1", Movement.kind == "sale")).scalar_one()
    # 14:05 in Shanghai is 06:05 UTC
    assert sale.ts.replace(tzinfo=None) == datetime(2026, 11, 20, 6, 5) and float(sale.unit_price) == 2899.0
    before = counts(session)
    again = pos_import.apply(session, store_id=world["a"].id, filename="again.csv", content=content, actor_id=None)
    assert again.already_imported and counts(session) == before
    assert pos_import.preview(session, store_id=world["a"].id, filename="x.csv", content=content).already_imported


def test_gb18030_chinese_headers_full_width_digits_and_spaces(session, world):
    content = ("销售日期,条码,数量,串号,单价\r\n"
               " ２０２６/１１/２０ , 6970000000024 , ２ ,, ￥199 \r\n"
               "2026年11月21日,RK-MAX2-BLK,1,SN2 ,2999\r\n").encode("gb18030")
    result = pos_import.apply(session, store_id=world["a"].id, filename="导出.csv", content=content, actor_id=None)
    assert result.imported_rows == 2 and case_on_hand(session, world) == 3


def test_utf8_bom_semicolons_and_traditional_headers(session, world):
    content = "\ufeff銷售日期;條碼;數量;序號\n2026-11-20;RK-CASE;1;\n".encode()
    assert pos_import.apply(session, store_id=world["a"].id, filename="pos.csv", content=content,
                            actor_id=None).imported_rows == 1


def test_xlsx_with_spreadsheet_serial_dates(session, world):
    book = Workbook()
    sheet = book.active
    sheet.append(["Date", "Barcode", "Qty", "IMEI"])
    sheet.append([46346, 6970000000024, 1, None])  # 46346 is 2026-11-20 as a spreadsheet serial
    sheet.append([datetime(2026, 11, 21, 10, 0), "RK-MAX2-BLK", 1, "SN3"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert pos_import.apply(session, store_id=world["a"].id, filename="pos.xlsx", content=buffer.getvalue(),
                            actor_id=None).imported_rows == 2
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
    preview = pos_import.preview(session, store_id=world["a"].id, filename="p.csv", content=content)
    assert [(e.row_number, e.code) for e in preview.errors] == [
        (3, "bad_date"), (4, "unknown_product"), (5, "serials_required"), (6, "bad_quantity")]
    with pytest.raises(pos_import.InvalidFile) as refused:
        pos_import.apply(session, store_id=world["a"].id, filename="p.csv", content=content, actor_id=None)
    assert [e.row_number for e in refused.value.errors] == [3, 4, 5, 6]
    assert counts(session) == before and case_on_hand(session, world) == 5


def test_a_row_beyond_stock_fails_the_file_at_that_row(session, world):
    content = (b"date,sku,quantity\n2026-11-20,RK-CASE,4\n2026-11-21,RK-CASE,2\n")
    preview = pos_import.preview(session, store_id=world["a"].id, filename="p.csv", content=content)
    assert [(e.row_number, e.code) for e in preview.errors] == [(3, "insufficient_stock")]
    assert case_on_hand(session, world) == 5  # the dry run was rolled back
    with pytest.raises(pos_import.InvalidFile):
        pos_import.apply(session, store_id=world["a"].id, filename="p.csv", content=content, actor_id=None)
    assert case_on_hand(session, world) == 5 and counts(session)[1] == 0


@pytest.mark.parametrize("content, code", [
    (b"", "empty_file"), (b"date,sku\n2026-11-20,RK-CASE\n", "missing_column"),
    (b"PK\x03\x04 not really a workbook", "unreadable_file"),
    (b"date,sku,quantity\n2026-11-20,RK-CASE,1\n2026-11-20,RK-CASE,1\n", "duplicate_row"),
])
def test_unusable_files_get_one_clear_error(session, world, content, code):
    preview = pos_import.preview(session, store_id=world["a"].id, filename="f.csv", content=content)
    assert code in {e.code for e in preview.errors}


def test_template_is_a_valid_file_layout():
    header = pos_import.template_csv().splitlines()[0].split(",")
    assert header[:3] == ["date", "sku", "quantity"]
