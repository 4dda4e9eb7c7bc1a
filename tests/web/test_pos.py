"""POS import pages: upload, preview with row-numbered errors, confirm; nothing lands from a bad file."""
from __future__ import annotations

import io
import re
import time
import zipfile

from openpyxl import Workbook
from sqlalchemy import func, select

from retail.models import Movement, SerialUnit
from tests.web.factories import csrf_token, sign_in

GOOD = ("销售日期,条码,数量,序列号,单价\n"
        "2026-11-20 14:05,RK-MAX2-BLK,1,SN-A1,2999.00\n"
        "2026-11-20 15:30,6970000000024,２,,199\n").encode("gb18030")
BAD = ("date,sku,quantity,serials\n"
       "2026-11-20 14:05,RK-MAX2-BLK,1,SN-A1\n"
       "2026-11-20 15:30,NO-SUCH-SKU,1,\n").encode("utf-8-sig")


def sales(session) -> int:
    return session.execute(select(func.count()).select_from(Movement).where(Movement.kind == "sale")).scalar()


def upload(client, store_id, content, name="till.csv"):
    return client.post(f"/stores/{store_id}/pos/preview", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token(client, "/password"), "file": (io.BytesIO(content), name)})


def test_template_is_downloadable(client, world):
    sign_in(client, "staff@a.example.com")
    response = client.get(f"/stores/{world['a'].id}/pos/template.csv")
    assert response.status_code == 200 and "date,sku,quantity" in response.get_data(as_text=True)


def test_bad_row_is_named_and_nothing_is_written(client, world, session):
    sign_in(client, "staff@a.example.com")
    response = upload(client, world["a"].id, BAD)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第 3 行" in page and "NO-SUCH-SKU" in page and "Confirm" not in page and "确认导入" not in page
    assert sales(session) == 0
    assert session.get(SerialUnit, "SN-A1", populate_existing=True).state == "in_stock"


def test_preview_then_confirm_imports_once(client, world, session):
    sign_in(client, "staff@a.example.com")
    preview = upload(client, world["a"].id, GOOD)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "2 行有效数据" in page
    assert sales(session) == 0  # a preview writes nothing
    form = dict(re.findall(r'name="(filename|content|csrf_token)" value="([^"]*)"', page))
    confirmed = client.post(f"/stores/{world['a'].id}/pos/confirm", data=form)
    assert confirmed.status_code == 302
    assert "已导入 2 行" in client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert sales(session) == 2
    again = client.post(f"/stores/{world['a'].id}/pos/confirm", data=form)
    assert "之前已导入" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert sales(session) == 2


def test_staff_cannot_import_into_another_store(client, world, session):
    sign_in(client, "staff@b.example.com")
    assert upload(client, world["a"].id, GOOD).status_code == 403
    assert sales(session) == 0


def test_attack_cells_are_named_rows_not_a_server_error(client, world, session):
    sign_in(client, "staff@a.example.com")
    content = ("date,sku,quantity,unit_price,receipt\n"
               "2026-11-20,RK-CASE,1e1000000,199,R-1\n"
               "2026-11-20,RK-CASE,Infinity,199,R-2\n"
               "2026-11-20,RK-CASE,10000000000000000000,199,R-3\n"
               f"2026-11-20,RK-CASE,1,199,{'R' * 65}\n"
               "2026-11-20,RK-CASE,1,100000000000,R-5\n").encode()
    start = time.perf_counter()
    response = upload(client, world["a"].id, content)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and time.perf_counter() - start < 5
    for row in (2, 3, 4, 5, 6):
        assert f"第 {row} 行" in page
    assert "最多 64 个字符" in page and "确认导入" not in page
    assert sales(session) == 0


def test_an_xlsx_dimension_bomb_is_refused_at_once(client, world, session):
    book = Workbook()
    book.active.append(["date", "sku", "quantity"])
    book.active.append(["2026-11-20", "RK-CASE", 1])
    buffer = io.BytesIO()
    book.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', data)
            target.writestr(item.filename, data)
    sign_in(client, "staff@a.example.com")
    start = time.perf_counter()
    response = upload(client, world["a"].id, out.getvalue(), name="bomb.xlsx")
    assert response.status_code == 422 and time.perf_counter() - start < 5
    assert "最多 64 列" in response.get_data(as_text=True)
    assert sales(session) == 0


def test_a_big5_file_previews_in_traditional_chinese(client, world, session):
    content = ("銷售日期,條碼,數量,單價\r\n2026-11-20 15:30,6970000000024,2,199\r\n").encode("big5")
    sign_in(client, "staff@a.example.com")
    response = upload(client, world["a"].id, content)
    assert response.status_code == 200 and "1 行有效数据" in response.get_data(as_text=True)
