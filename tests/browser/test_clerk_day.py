"""A clerk's day on a phone (issue 12), in Simplified Chinese at 390 x 844: the home as today's to-do list,
finding a product by brand, a transfer asked in two taps from the SKU's page. Screenshots (after) go to
test-output/screenshots/clerk-*.png."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import Session

from retail.models import Brand, Location, Product, SerialUnit, StockCount, TransferRequest, User
from retail.services import counts, transfers
from tests.browser.test_store_flows import sign_in
from tests.committing import inventory, shipments

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def day(served_db):
    """Store A's work waiting: a delivery from the DC, a count held for the manager, a transfer request a
    mainland store (C, same city) made of A; D (Beijing) holds glasses too."""
    _url, engine, world = served_db
    with Session(engine, expire_on_commit=False) as s:
        c = Location(code="S0030", name="上海静安店", city="Shanghai", city_zh="上海", province="Shanghai",
                     city_tier=1, partnership="franchise", dc_id=world["dc"].id)
        d = Location(code="S0031", name="北京三里屯店", city="Beijing", city_zh="北京", province="Beijing",
                     city_tier=1, partnership="franchise", dc_id=world["dc"].id)
        s.add_all([c, d])
        s.commit()
        staff_c = User(email="staff@c.example.com", name="C staff", role="store_staff", store_id=c.id,
                       password_hash=s.get(User, world["staff"].id).password_hash)
        s.add(staff_c)
        s.commit()
        inventory.receive_purchase(s, location_id=c.id, sku="RK-MAX2-BLK", quantity=1, serials=["SN-C1"],
                                   reference="PO-C")
        inventory.receive_purchase(s, location_id=d.id, sku="RK-MAX2-BLK", quantity=3,
                                   serials=["SN-E1", "SN-E2", "SN-E3"], reference="PO-E")
        delivery = shipments.ship(s, from_location_id=world["dc"].id, to_location_id=world["a"].id,
                                  reference="SH-DAY", lines=[shipments.Line("RK-CASE", 2)])
        staff = s.get(User, world["staff"].id)
        held = counts.submit_count(s, staff, store_id=world["a"].id, counted={"RK-CASE": 0}, reason="月度盘点")
        asked = transfers.request_transfer(s, staff_c, store_id=c.id, from_store_code=world["a"].code,
                                           sku="RK-CASE", quantity=1, note="顾客在等")
        # store C's shelf: 60 SKUs of Xiaomi and Huawei glasses, two serialised units each
        brands = [Brand(code="XIAOMI", name="Xiaomi", name_zh="小米"), Brand(code="HUAWEI", name="Huawei", name_zh="华为")]
        s.add_all(brands)
        s.flush()
        shelf = []
        for i in range(60):
            brand = brands[i % 2]
            product = Product(sku=f"{brand.code[:2]}-G{i:02d}", brand_id=brand.id, model=f"{brand.name} Glasses {i}",
                              variant=("black", "white", "grey")[i % 3], category="audio",
                              list_price_cny=Decimal("1299"), list_price_hkd=Decimal("1399"),
                              wholesale_cost=Decimal("700"), serialised=True, launch_date=date(2025, 6, 1))
            s.add(product)
            s.flush()
            serials = [f"{product.sku}-{n}" for n in (1, 2)]
            shelf += serials
            s.commit()
            inventory.receive_purchase(s, location_id=c.id, sku=product.sku, quantity=2, serials=serials,
                                       reference=f"PO-SHELF-{i}")
        return {"c": c, "d": d, "delivery": delivery.id, "count": held.id, "transfer": asked.id,
                "shelf": shelf + ["SN-C1"]}


def test_manager_home_lists_todays_work_each_one_tap_away(page, served_db, day, shots):
    _url, engine, world = served_db
    with Session(engine) as s:
        assert s.get(StockCount, day["count"]).status == "pending_approval"
    sign_in(page, "manager@a.example.com")
    todo = page.locator("#today")
    text = todo.inner_text()
    assert "今日待办" in text and "签收到货 SH-DAY" in text and f"处理调拨申请 #{day['transfer']}" in text
    assert f"审批盘点 #{day['count']}" in page.locator("#today").inner_text()
    assert "∞" not in page.locator("main").inner_text()
    # the whole nav is on screen: it wraps, nothing hides to the right
    for link in page.locator("nav.tabs a").all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, link.inner_text()
    shots(page, "clerk-home-after")
    a = world["a"].id
    for selector, url in ((".todo-count a", f"/stores/{a}/count/{day['count']}"),
                          (".todo-delivery a:has-text('SH-DAY')", f"/stores/{a}/deliveries/{day['delivery']}"),
                          (".todo-transfer a", f"/stores/{a}/transfers/{day['transfer']}")):
        page.click(f"#today {selector}")
        page.wait_for_url(f"**{url}")
        assert page.locator("h1").count() == 1
        page.go_back()
        page.wait_for_selector("#today")


def test_staff_home_has_no_count_to_approve(page, served_db, day):
    sign_in(page)
    text = page.locator("#today").inner_text()
    assert "签收到货 SH-DAY" in text and "审批盘点" not in text


def test_brand_names_in_both_scripts_find_their_products(page, served_db):
    _url, _engine, world = served_db
    sign_in(page)
    for query in ("若琪", "Rokid", "rokid", "ROKID", "black", "6970000000017", "SN-A3"):
        page.goto(f"/stores/{world['a'].id}/products?q={query}")
        assert "RK-MAX2-BLK" in page.locator("main").inner_text(), query


def test_xiaomi_and_huawei_find_their_products(page, served_db, day, shots):
    _url, _engine, world = served_db
    sign_in(page)
    for query, sku, other in (("小米", "XI-G00", "HU-G01"), ("华为", "HU-G01", "XI-G00"), ("Xiaomi", "XI-G02", "HU-G03"),
                              ("huawei white", "HU-G01", "HU-G03")):
        page.goto(f"/stores/{world['a'].id}/products")
        page.fill("input[name=q]", query)
        page.click("form.search button")
        page.wait_for_load_state("load")
        found = page.locator("main ul.list").inner_text()
        assert sku in found and other not in found, (query, found[:300])
    shots(page, "clerk-search-after")


def test_a_60_sku_shelf_counted_by_scanning_serials_into_one_box(page, served_db, day, shots):
    """Store C's staff scan the whole shelf (121 serials of 61 SKUs) into one box, one unit missing and one
    serial from another store scanned by mistake: the check names both; without the stray serial the count
    is confirmed and the missing unit written off."""
    _url, engine, world = served_db
    sign_in(page, "staff@c.example.com")
    page.click("nav.tabs >> text=盘点")
    shots(page, "clerk-count-after-1-empty")
    missing = day["shelf"][7]
    scanned = [serial for serial in day["shelf"] if serial != missing]
    box = page.locator("textarea[name=shelf]")
    box.fill("\n".join(scanned[:-3]) + "\n")
    box.focus()
    for serial in scanned[-3:] + ["SN-A3"]:  # a scanner types the serial and Enter
        page.keyboard.type(serial)
        page.keyboard.press("Enter")
    page.fill("input[name=reason]", "月度盘点")
    page.click("button[value=check]")
    page.wait_for_selector("#check")
    assert "已找到：120" in page.locator("#found-count").inner_text()
    assert "缺少：1" in page.locator("#missing-count").inner_text()
    assert "不属于本店：1" in page.locator("#foreign-count").inner_text() and "SN-A3" in page.locator("#foreign").inner_text()
    assert missing in page.locator("#check-lines").inner_text()
    assert page.locator("#confirm").is_disabled()
    shots(page, "clerk-count-after-2-checked")
    page.locator("textarea[name=shelf]").fill("\n".join(scanned))  # the stray serial deleted
    page.click("button[value=check]")
    page.wait_for_selector("#check")
    assert "不属于本店：0" in page.locator("#foreign-count").inner_text()
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4 * 844, height  # a 60-SKU count in a few screens
    page.click("#confirm")
    page.wait_for_selector(".flash")
    shots(page, "clerk-count-after-3-confirmed")
    with Session(engine) as s:
        count = s.execute(select(StockCount).where(StockCount.store_id == day["c"].id)).scalar_one()
        assert count.status == "applied"
        assert s.get(SerialUnit, missing).state == "written_off"
        assert s.get(SerialUnit, scanned[0]).state == "in_stock"


def test_transfer_requested_in_two_taps_from_the_skus_page(page, served_db, day, shots):
    """From the SKU's page: tap "ask another store", tap the nearest store holding it: requested.
    Same city first, then the province, then the rest; a Hong Kong store is not offered to a mainland one."""
    _url, engine, world = served_db
    a = world["a"].id
    sign_in(page)
    page.goto(f"/stores/{a}?sku=RK-MAX2-BLK")
    shots(page, "clerk-transfer-after-1-sku-page")
    page.click("#ask-transfer")  # tap 1
    page.wait_for_selector("ul#holders")
    holders = [li.get_attribute("data-store") for li in page.locator("ul#holders li").all()]
    assert holders == ["S0030", "S0031"], holders  # Shanghai (same city) before Beijing; Hong Kong not offered
    assert "上海" in page.locator("ul#holders").inner_text() and "Shanghai" not in page.locator("ul#holders").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shots(page, "clerk-transfer-after-2-stores")
    page.click("ul#holders li[data-store=S0030] button")  # tap 2
    page.wait_for_selector(".flash")
    with Session(engine) as s:
        made = s.execute(select(TransferRequest).where(TransferRequest.to_store_id == a,
                                                       TransferRequest.from_store_id == day["c"].id)).scalar_one()
        assert (made.quantity, made.status) == (1, "requested")
