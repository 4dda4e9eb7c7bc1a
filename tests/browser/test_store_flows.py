"""Store staff on a phone, in a real browser: sign in, sell by serial, receive a delivery with a
discrepancy, count stock, upload a POS file with a bad row, switch to Traditional Chinese.
Each test checks the database afterwards against what it was before; screenshots go to
test-output/screenshots/."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from retail.models import (
    AuditLog,
    Movement,
    MovementSerial,
    SerialUnit,
    Shipment,
    ShipmentLine,
    StockBalance,
    StockCount,
    User,
)
from tests.factories import on_the_mainland
from tests.web.factories import PASSWORD

pytestmark = pytest.mark.browser

BAD_POS_FILE = ("销售日期,条码,数量,序列号,单价\n"
                "2026-11-20 14:05,RK-MAX2-BLK,1,SN-A2,2999\n"
                "2026-11-20 15:30,NO-SUCH-SKU,1,,199\n").encode("gb18030")


def sign_in(page, email="staff@a.example.com"):
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_selector("nav.tabs")


def on_hand(engine, world, product) -> int:
    with Session(engine) as s:
        return s.get(StockBalance, (world["a"].id, world[product].id)).on_hand


def test_staff_signs_in_and_records_a_sale_with_a_serial(page, served_db, shots):
    _url, engine, world = served_db
    before = on_hand(engine, world, "glasses")
    page.goto("/login")
    shots(page, "01-sign-in")
    sign_in(page)
    assert page.locator("h1").inner_text() == world["a"].name
    shots(page, "02-store-home")
    page.click("nav.tabs >> text=销售")
    page.fill("textarea[name=serials]", "SN-A1\n")
    shots(page, "03-sale-form")
    page.click("text=确认销售")
    assert "已登记：1 件" in page.locator(".flash").inner_text()
    shots(page, "04-sale-recorded")
    with Session(engine) as s:
        assert s.get(SerialUnit, "SN-A1").state == "sold"
        sale = s.execute(select(Movement).join(MovementSerial, MovementSerial.movement_id == Movement.id)
                         .where(MovementSerial.serial == "SN-A1", Movement.kind == "sale")).scalar_one()
        assert (sale.quantity, sale.actor_id, sale.location_id) == (-1, world["staff"].id, world["a"].id)
    assert on_hand(engine, world, "glasses") == before - 1


def test_staff_receives_a_delivery_with_one_discrepancy(page, served_db, shots):
    _url, engine, world = served_db
    cases, glasses = on_hand(engine, world, "case"), on_hand(engine, world, "glasses")
    sign_in(page)
    page.click("nav.tabs >> text=到货")
    page.click("text=SH-A")
    page.fill("input[name=received-RK-CASE]", "3")
    page.fill("textarea[name=serials-RK-MAX2-BLK]", "SN-D1 SN-D2")
    shots(page, "05-receive-delivery")
    page.click("text=确认签收")
    assert "发货 4，实收 3" in page.locator(".flash.warning").inner_text()
    with Session(engine) as s:
        assert s.get(Shipment, world["delivery_a"].id).status == "received"
        received = dict(s.execute(select(ShipmentLine.product_id, ShipmentLine.received_quantity).where(
            ShipmentLine.shipment_id == world["delivery_a"].id)).all())
        assert received == {world["glasses"].id: 2, world["case"].id: 3}
        audit = s.execute(select(AuditLog).where(AuditLog.action == "shipment.discrepancy")).scalar_one()
        assert audit.detail == {"RK-CASE": {"shipped": 4, "received": 3}}
    assert on_hand(engine, world, "case") == cases + 3 and on_hand(engine, world, "glasses") == glasses + 2


def test_staff_counts_stock(page, served_db, shots):
    _url, engine, world = served_db
    cases, glasses = on_hand(engine, world, "case"), on_hand(engine, world, "glasses")
    sign_in(page)
    page.click("nav.tabs >> text=盘点")
    page.fill("input[name=counted-RK-CASE]", str(cases - 1))  # one case missing: a small difference
    page.fill("input[name=reason]", "月度盘点")
    shots(page, "06-stock-count")
    page.click("text=保存盘点")
    assert "已调整库存" in page.locator(".flash").inner_text()
    shots(page, "07-stock-count-applied")
    with Session(engine) as s:
        count = s.execute(select(StockCount)).scalar_one()
        assert (count.status, count.reason, count.counted_by) == ("applied", "月度盘点", world["staff"].id)
        adjustment = s.execute(select(Movement).where(Movement.kind == "count_adjustment")).scalar_one()
        assert adjustment.quantity == -1
    assert on_hand(engine, world, "case") == cases - 1 and on_hand(engine, world, "glasses") == glasses


def test_pos_file_with_one_bad_row_names_the_row_and_changes_nothing(page, served_db, shots):
    _url, engine, world = served_db
    with Session(engine) as s:
        movements_before = s.execute(select(func.count()).select_from(Movement)).scalar()
    glasses = on_hand(engine, world, "glasses")
    sign_in(page)
    page.click("nav.tabs >> text=POS 导入")
    page.set_input_files("input[name=file]", files=[{"name": "till-export.csv", "mimeType": "text/csv",
                                                      "buffer": BAD_POS_FILE}])
    page.click("button:has-text('预览')")
    problems = page.locator("ul.problems").inner_text()
    assert "第 3 行" in problems and "NO-SUCH-SKU" in problems
    assert page.locator("text=确认导入").count() == 0
    shots(page, "08-pos-preview-bad-row")
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Movement)).scalar() == movements_before
        assert s.get(SerialUnit, "SN-A2").state == "in_stock"
    assert on_hand(engine, world, "glasses") == glasses


def test_staff_switches_to_traditional_chinese(page, served_db, shots):
    _url, engine, world = served_db
    sign_in(page, "manager@a.example.com")  # the others sign in as staff, who stay in Simplified Chinese
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    page.click("button[value=zh_Hant]")
    page.wait_for_selector("html[lang=zh-Hant]")
    assert "庫存" in page.locator("main").inner_text() and "登記銷售" in page.locator("main").inner_text()
    shots(page, "09-store-home-zh-hant")
    page.click("nav.tabs >> text=銷售")
    assert page.locator("h1").inner_text() == "登記銷售"
    with Session(engine) as s:
        assert s.get(User, world["manager"].id).language == "zh_Hant"
        assert s.get(User, world["staff"].id).language == "zh_Hans"


def test_every_store_page_fits_a_phone(page, served_db, shots):
    """No page scrolls sideways at 390 px (wide tables scroll inside their own box); reading changes nothing."""
    _url, engine, world = served_db
    with Session(engine) as s:
        movements_before = s.execute(select(func.count()).select_from(Movement)).scalar()
    sign_in(page)
    a = world["a"].id
    pages = {"10-missed-sale": "missed", "11-return": "return", "12-deliveries": "deliveries", "13-demo-units": "demo",
             "14-transfers": "transfers?sku=RK-MAX2-BLK", "15-pos-upload": "pos/", "16-home-sku-chart": "?sku=RK-CASE",
             "17-replenishment": "replenishment"}
    for name, path in pages.items():
        page.goto(f"/stores/{a}/{path}" if not path.startswith("?") else f"/stores/{a}{path}")
        assert page.locator("h1").count() == 1, path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        shots(page, name)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Movement)).scalar() == movements_before


def test_origin_store_ships_a_transfer_request_by_scanning_the_serial(page, served_db, shots):
    """Store A asks store B for one pair; B's staff (Traditional Chinese) find it from their home
    page, scan the unit and ship it on a phone; the shipment is on its way to A with that serial."""
    from retail.models import TransferRequest
    from retail.services import transfers

    _url, engine, world = served_db
    with Session(engine) as s:
        on_the_mainland(s, s.get(type(world["b"]), world["b"].id))  # store to store stays on one side of the border
        request = transfers.request_transfer(s, world["staff"], store_id=world["a"].id, from_store_code=world["b"].code,
                                            sku="RK-MAX2-BLK", quantity=1, note="customer waiting")
        tid, b_on_hand = request.id, s.get(StockBalance, (world["b"].id, world["glasses"].id)).on_hand
    sign_in(page, "staff@b.example.com")
    page.click(f"a.button[href='/stores/{world['b'].id}/transfers']")
    page.click(f"a[href='/stores/{world['b'].id}/transfers/{tid}']")
    page.wait_for_url(f"**/stores/{world['b'].id}/transfers/{tid}")
    page.wait_for_load_state("load")  # the click navigates: measure the new page, not the one unloading
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("textarea[name=serials]", "SN-B2\n")
    shots(page, "20-transfer-to-ship")
    page.click("form#ship button")
    page.wait_for_selector(".flash")
    shots(page, "21-transfer-shipped")
    with Session(engine) as s:
        transfer = s.get(TransferRequest, tid)
        assert transfer.status == "shipped"
        shipment = s.get(Shipment, transfer.shipment_id)
        assert (shipment.reference, shipment.to_location_id) == (f"TR-{tid}", world["a"].id)
        assert s.get(SerialUnit, "SN-B2").state == "in_transit"
        assert s.get(StockBalance, (world["b"].id, world["glasses"].id)).on_hand == b_on_hand - 1
