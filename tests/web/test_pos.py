"""POS import pages: upload, preview with row-numbered errors, confirm; nothing lands from a bad file."""
from __future__ import annotations

import io
import re
import threading
import time
import zipfile

from openpyxl import Workbook
from sqlalchemy import func, select

from retail.models import Movement, SerialUnit
from tests.committing import inventory
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
    form = dict(re.findall(r'name="(file_sha256|csrf_token)" value="([^"]*)"', page))
    assert set(form) == {"file_sha256", "csrf_token"}  # the file stays on the server: the form names its hash
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


# -- issue 10 items 7 and 14 ---------------------------------------------------------------------------------

def padded_file(rows: int, megabytes: float) -> bytes:
    """A valid till file of `rows` case sales, padded with description columns (as real exports carry) to
    about `megabytes`; each cell stays under the CSV reader's 128 KB field limit."""
    cell_count = 8
    cell = "x" * int(megabytes * 1_000_000 / rows / cell_count)
    header = "date,sku,quantity,unit_price,receipt," + ",".join(f"note{i}" for i in range(cell_count)) + "\n"
    body = "".join(f"2026-11-20 {10 + i // 60:02d}:{i % 60:02d},RK-CASE,1,199,R-{i}," + ",".join([cell] * cell_count)
                   + "\n" for i in range(rows))
    return (header + body).encode()


def test_a_file_over_6_mb_previews_and_is_confirmed(client, world, session):
    """The attack: a file over about 6 MB previewed, but its confirmation (the file again, in base64, in the
    form) exceeded MAX_CONTENT_LENGTH: 413. Now the file waits on the server and the form names its hash."""
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=20)
    content = padded_file(12, 6.5)
    assert 6_000_000 < len(content) < 8 * 1024 * 1024
    sign_in(client, "staff@a.example.com")
    preview = upload(client, world["a"].id, content, name="big.csv")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "12 行有效数据" in page
    form = dict(re.findall(r'name="(file_sha256|csrf_token|filename|content)" value="([^"]*)"', page))
    confirmed = client.post(f"/stores/{world['a'].id}/pos/confirm", data=form)
    assert confirmed.status_code == 302 and set(form) == {"file_sha256", "csrf_token"} and len(page) < 100_000
    assert "已导入 12 行" in client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert sales(session) == 12


def test_a_file_previewed_again_with_rows_imported_before_says_so(client, world, session):
    sign_in(client, "staff@a.example.com")
    first = upload(client, world["a"].id, GOOD).get_data(as_text=True)
    form = dict(re.findall(r'name="(file_sha256|csrf_token)" value="([^"]*)"', first))
    assert client.post(f"/stores/{world['a'].id}/pos/confirm", data=form).status_code == 302
    changed = GOOD + "2026-11-21 09:00,RK-CASE,1,,199\n".encode("gb18030")  # one row more, so another hash
    page = upload(client, world["a"].id, changed).get_data(as_text=True)
    assert "2 行已由其他文件导入过（第 2, 3 行）：将被跳过。" in page and "已导入过" in page
    form = dict(re.findall(r'name="(file_sha256|csrf_token)" value="([^"]*)"', page))
    confirmed = client.post(f"/stores/{world['a'].id}/pos/confirm", data=form)
    shown = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "已导入 1 行" in shown and "2 行已由其他文件导入过：已跳过。" in shown
    assert sales(session) == 3


def test_a_confirmation_of_an_unknown_file_is_a_translated_422(client, world, session):
    sign_in(client, "staff@a.example.com")
    token = csrf_token(client, f"/stores/{world['a'].id}/pos/")
    for value in ("0" * 64, "<script>", "f" * 5000, ""):
        response = client.post(f"/stores/{world['a'].id}/pos/confirm", data={"csrf_token": token, "file_sha256": value})
        assert response.status_code == 422 and "请重新上传" in response.get_data(as_text=True)
    assert sales(session) == 0


def test_an_upload_over_the_limit_is_a_translated_413_page(client, world, session):
    """The attack: the 413 page was Werkzeug's bare English page with no way back."""
    sign_in(client, "staff@a.example.com")
    response = upload(client, world["a"].id, b"x" * (9 * 1024 * 1024), name="huge.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "提交的内容太大：每次最多 8 MB" in page and "Request Entity Too Large" not in page
    assert f'href="/stores/{world["a"].id}/pos/"' in page  # back to the upload page
    assert sales(session) == 0


def test_a_request_werkzeug_cannot_read_is_a_translated_400_page(app, client):
    """The attack: a 400 (a form field a view needs is missing, a body Werkzeug cannot read) was Werkzeug's
    bare English page. A view that reads a missing field the strict way stands in for any of them."""
    from flask import request

    app.add_url_rule("/bad-request-probe", "bad_request_probe", lambda: request.args["missing"])
    response = client.get("/bad-request-probe")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "无法读取此请求" in page and "Bad Request" not in page
    english = client.get("/bad-request-probe", headers={"Accept-Language": "en"})
    assert english.status_code == 400 and "Bad Request" not in english.get_data(as_text=True)


def test_a_long_preview_does_not_block_another_stores_pages(app, world, session):
    """The attack (SQLite): a big file's preview held the write lock, and every page of every store waited
    for it (BEGIN IMMEDIATE for reads too). Now store B's home page answers while A's dry run runs."""
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=400)
    rows = 300
    content = ("date,sku,quantity,unit_price,receipt\n" + "".join(
        f"2026-11-2{i // 100} {10 + (i % 100) // 10:02d}:{i % 10:02d},RK-CASE,1,199,R-{i}\n" for i in range(rows))
    ).encode()
    previewer, reader = app.test_client(), app.test_client()
    sign_in(previewer, "staff@a.example.com")
    sign_in(reader, "staff@b.example.com")
    home = f"/stores/{world['b'].id}"
    assert reader.get(home).status_code == 200
    done, outcome = threading.Event(), {}

    def preview():
        started = time.perf_counter()
        outcome["response"] = upload(previewer, world["a"].id, content)
        outcome["seconds"] = time.perf_counter() - started
        done.set()

    thread = threading.Thread(target=preview)
    thread.start()
    latencies = []
    while not done.is_set():
        started = time.perf_counter()
        assert reader.get(home).status_code == 200
        latencies.append(time.perf_counter() - started)
        time.sleep(0.02)
    thread.join()
    assert outcome["response"].status_code == 200, outcome["response"].get_data(as_text=True)[:300]
    assert f"{rows} 行有效数据" in outcome["response"].get_data(as_text=True)
    assert len(latencies) >= 3 and max(latencies) < min(1.5, outcome["seconds"] / 2), (latencies, outcome["seconds"])


def test_a_preview_sent_again_with_its_key_shows_the_preview_again(client, world, session):
    """A preview changes nothing: reloading it (the same one-time key) shows it again, not "already recorded"."""
    sign_in(client, "staff@a.example.com")
    data = {"csrf_token": csrf_token(client, "/password"), "idempotency_key": "f" * 32}
    answers = [client.post(f"/stores/{world['a'].id}/pos/preview", content_type="multipart/form-data",
                           data={**data, "file": (io.BytesIO(GOOD), "till.csv")}) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert all("2 行有效数据" in a.get_data(as_text=True) for a in answers)
    assert sales(session) == 0
