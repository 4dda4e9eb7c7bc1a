"""Issue 12 on the test client: the home's to-do list, the suggested order's reasons in the reader's words,
the shelf scanned into one box, search by brand, the transfer candidates nearest first."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from retail.models import ForecastRun, Location, ReplenishmentRun, StockCount, SuggestedLine
from retail.services import transfers
from tests.committing import inventory
from tests.web.factories import post, sign_in

# What `policy.order_lines` stores for a case of 5 the store sells 0.27 of in 3 weeks (packs of 5).
EXPLANATION = {"cover_weeks": 3, "forecast_cover": 0.27, "cover_phi": 1.0, "service_level": 0.9, "cover_quantile": 1,
               "shelf_forecast": 0.4, "presence": 1, "display_min": 0, "order_up_to": 1, "on_hand": 0,
               "in_transit": 0, "open_orders": 0, "transfers_in": 0, "transfers_out": 0, "reserved": 0,
               "position": 0, "need": 1, "pack_size": 5, "rounding": 4, "capacity_cut": 0, "order_units": 5,
               "reason": "order", "hold_bar": 0.0}


def _plan(session, world):
    forecast = ForecastRun(start_week=date(2026, 11, 23), horizon=3, quantiles=[0.5, 0.8, 0.95])
    session.add(forecast)
    session.flush()
    run = ReplenishmentRun(forecast_run_id=forecast.id, as_of=date(2026, 11, 23))
    session.add(run)
    session.flush()
    session.add(SuggestedLine(run_id=run.id, location_id=world["a"].id, product_id=world["case"].id, quantity=5,
                              explanation=EXPLANATION, text="Forecast 0.27 units over 3 weeks; Suggest 5."))
    session.commit()


def test_the_suggested_order_is_explained_in_the_readers_language(client, world, session):
    _plan(session, world)
    sign_in(client, "staff@a.example.com")
    page = client.get(f"/stores/{world['a'].id}/replenishment").get_data(as_text=True)
    assert "预计未来 3 周（到货时间加到下次订货的一周）约售出 0.3 件。" in page
    assert "按 5 件一包订货：5 件。" in page and "为什么是 5 件？" in page
    assert "Forecast" not in page and "Suggest " not in page
    post(client, "/language", {"language": "zh_Hant"})
    page = client.get(f"/stores/{world['a'].id}/replenishment").get_data(as_text=True)
    assert "按 5 件一包訂貨：5 件。" in page
    post(client, "/language", {"language": "en"})
    page = client.get(f"/stores/{world['a'].id}/replenishment").get_data(as_text=True)
    assert "It comes in packs of 5: 5." in page


def test_home_is_the_days_work(client, world, session):
    """A delivery to receive, a count waiting (the manager's home only) and the suggested order; no ∞."""
    _plan(session, world)
    sign_in(client, "staff@a.example.com")
    a = world["a"].id
    refused = post(client, f"/stores/{a}/count", {"counted-RK-CASE": "0", "reason": "月度盘点"})
    assert refused.status_code == 302
    count = session.execute(select(StockCount)).scalar_one()
    assert count.status == "pending_approval"
    staff_home = client.get(f"/stores/{a}").get_data(as_text=True)
    assert "签收到货 SH-A" in staff_home and "审核建议补货单" in staff_home and "审批盘点" not in staff_home
    assert "∞" not in staff_home
    client.post("/logout", data={})
    manager = client.application.test_client()
    sign_in(manager, "manager@a.example.com")
    home = manager.get(f"/stores/{a}").get_data(as_text=True)
    assert f'href="/stores/{a}/count/{count.id}"' in home and f"审批盘点 #{count.id}" in home


def test_the_shelf_scanned_into_one_box_is_checked_then_counted(client, world, session):
    sign_in(client, "manager@a.example.com")
    a = world["a"].id
    checked = post(client, f"/stores/{a}/count", {"shelf": "SN-A1\nSN-A3\nSN-B1", "reason": "月度盘点",
                                                  "action": "check"})
    page = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "已找到：2" in page and "缺少：1" in page and "SN-A2" in page
    assert "不属于本店：1" in page and "SN-B1" in page
    assert session.execute(select(StockCount)).first() is None  # a check writes nothing
    refused = post(client, f"/stores/{a}/count", {"shelf": "SN-A1\nSN-A3\nSN-B1", "reason": "月度盘点",
                                                  "action": "confirm"})
    assert refused.status_code == 422 and "SN-B1" in refused.get_data(as_text=True)
    done = post(client, f"/stores/{a}/count", {"shelf": "SN-A1 SN-A3", "reason": "月度盘点", "action": "confirm"})
    assert done.status_code == 302
    count = session.execute(select(StockCount)).scalar_one()
    assert count.status == "applied"
    from retail.models import SerialUnit
    assert session.get(SerialUnit, "SN-A2", populate_existing=True).state == "written_off"


def test_search_by_brand_colour_and_serial(client, world):
    sign_in(client, "staff@a.example.com")
    for query in ("若琪", "rokid", "Rokid black", "SN-A1", "6970000000024"):
        page = client.get(f"/stores/{world['a'].id}/products", query_string={"q": query}).get_data(as_text=True)
        assert ("RK-CASE" if query.startswith("697") else "RK-MAX2-BLK") in page, query
    assert "RK-CASE" not in client.get(f"/stores/{world['a'].id}/products?q=rokid+black").get_data(as_text=True)
    assert client.get(f"/stores/{world['a'].id}/products?q=" + "%25_" * 100).status_code == 200


def test_transfer_candidates_are_nearest_first_and_stay_on_their_side_of_the_border(world, session):
    near = Location(code="S0040", name="上海浦东店", city="Shanghai", city_zh="上海", province="Shanghai",
                    partnership="franchise", dc_id=world["dc"].id)
    far = Location(code="S0041", name="杭州店", city="Hangzhou", city_zh="杭州", province="Zhejiang",
                   partnership="franchise", dc_id=world["dc"].id)
    session.add_all([near, far])
    session.commit()
    inventory.receive_purchase(session, location_id=far.id, sku="RK-CASE", quantity=9)
    inventory.receive_purchase(session, location_id=near.id, sku="RK-CASE", quantity=1)
    inventory.receive_purchase(session, location_id=world["b"].id, sku="RK-CASE", quantity=20)
    holders = transfers.stores_with_stock(session, sku="RK-CASE", exclude_store_id=world["a"].id)
    assert [(h.code, h.city, h.distance) for h in holders] == [("S0040", "上海", 0), ("S0041", "杭州", 2)]


def test_error_pages_are_translated_and_keep_the_navigation(app, client, world):
    from werkzeug.exceptions import InternalServerError

    @app.get("/boom")
    def boom():
        raise InternalServerError()

    sign_in(client, "staff@a.example.com")
    a = world["a"].id
    for path, status, words in ((f"/stores/{a}/transfers/999", 404, "请从本店首页重新开始"),
                                (f"/stores/{world['b'].id}", 403, "请联系店长"),
                                ("/no-such-page", 404, "页面不存在"),
                                ("/boom", 500, "请稍等一分钟再试")):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == status and words in page, (path, page[-1500:])
        assert 'nav class="tabs"' in page and f'href="/stores/{a}/count"' in page, path
    wrong = client.put(f"/stores/{a}/count")
    assert wrong.status_code == 405 and "请返回并使用页面上的按钮" in wrong.get_data(as_text=True)
    assert "GET" in wrong.headers["Allow"]


def test_demo_unit_by_serial_alone_and_1_0_is_not_ten(client, world, session):
    from retail.models import SerialUnit

    sign_in(client, "staff@a.example.com")
    a = world["a"].id
    assert post(client, f"/stores/{a}/demo", {"direction": "out", "sku": "", "serials": "SN-A1"}).status_code == 302
    assert session.get(SerialUnit, "SN-A1", populate_existing=True).state == "demo"
    blank = post(client, f"/stores/{a}/demo", {"direction": "out", "sku": "", "serials": ""})
    assert blank.status_code == 422 and "为  的商品" not in blank.get_data(as_text=True)
    odd = post(client, f"/stores/{a}/missed", {"sku": "RK-CASE", "quantity": "1_0"})
    assert odd.status_code == 422


def test_pos_template_lists_the_stores_own_skus_and_errors_name_the_column(client, world):
    sign_in(client, "staff@a.example.com")
    template = client.get(f"/stores/{world['a'].id}/pos/template.csv").get_data(as_text=True)
    rows = template.lstrip("\ufeff").splitlines()
    assert rows[0].startswith("date,sku,quantity") and len(rows) == 3
    assert {row.split(",")[1] for row in rows[1:]} == {"RK-MAX2-BLK", "RK-CASE"}
    assert "199.00" in template and "2999.00" in template
    import io
    bad = b"date,sku,quantity,serials,unit_price\n2026-11-20 14:05,NO-SUCH-SKU,1,,199\n"
    preview = post(client, f"/stores/{world['a'].id}/pos/preview", {"file": (io.BytesIO(bad), "till.csv")})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 422 and "SKU或条码" in page.replace(" ", "") and "· sku:" not in page


def test_sku_fields_suggest_products_with_their_brand_in_both_scripts(client, world):
    sign_in(client, "staff@a.example.com")
    for path in ("missed", "sale", "demo", "transfers"):
        page = client.get(f"/stores/{world['a'].id}/{path}").get_data(as_text=True)
        assert '<datalist id="skus">' in page and '<option value="RK-MAX2-BLK">若琪 Rokid Max 2 black</option>' in page, path
