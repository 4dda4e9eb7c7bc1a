"""The store home: stock with weeks of cover, at-risk and aging items, open deliveries, the sales chart;
and the page in the right language, currency and time zone."""
from __future__ import annotations

import re
from datetime import timedelta

from retail.models import utcnow
from tests.committing import inventory
from tests.web.factories import post, sign_in


def test_home_shows_cover_risk_aging_deliveries_and_chart(client, world, session):
    now = utcnow()
    for weeks_ago in (1, 3, 5):
        inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE", at=now - timedelta(weeks=weeks_ago))
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE", quantity=2, at=now - timedelta(days=2))
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=1, at=now)
    sign_in(client, "staff@a.example.com")
    page = client.get(f"/stores/{world['a'].id}").get_data(as_text=True)
    # 5 cases sold in 13 weeks, 1 on hand: 2.6 weeks of cover, less than 2 weeks lead time + 2
    assert "缺货风险" in page and "库存 1，可售 2.6 周" in page
    assert "RK-MAX2-BLK" in page and "滞销" in page  # glasses received 120 days ago, never sold
    assert "SH-A" in page and "SH-B" not in page
    assert "<svg" in page and "近 12 周每周销量" in page


def test_sku_chart_and_no_forecast_is_graceful(client, world):
    sign_in(client, "staff@a.example.com")
    page = client.get(f"/stores/{world['a'].id}?sku=RK-CASE").get_data(as_text=True)
    assert "<svg" in page and "此 SKU 暂无预测" in page


def test_hong_kong_store_in_traditional_chinese_with_hkd_and_local_time(client, world, session):
    inventory.record_sale(session, store_id=world["b"].id, sku="RK-MAX2-BLK", serials=["SN-B1"])
    sign_in(client, "staff@b.example.com")
    page = client.get(f"/stores/{world['b'].id}/sale").get_data(as_text=True)
    assert 'lang="zh-Hant"' in page and "登記銷售" in page
    assert "HK$3,299.00" in page


def test_language_switch_is_remembered(client, world, session):
    from retail.models import User

    sign_in(client, "staff@a.example.com")
    response = post(client, f"/language?next=/stores/{world['a'].id}", {"language": "zh_Hant"})
    assert response.headers["Location"] == f"/stores/{world['a'].id}"
    assert "庫存" in client.get(f"/stores/{world['a'].id}").get_data(as_text=True)
    assert session.get(User, world["staff"].id, populate_existing=True).language == "zh_Hant"
    post(client, "/language", {"language": "en"})
    assert "Stock on hand" in client.get(f"/stores/{world['a'].id}").get_data(as_text=True)


def test_sign_in_page_follows_the_browser_language(client, world):
    assert "登入" in client.get("/login", headers={"Accept-Language": "zh-HK,zh;q=0.8"}).get_data(as_text=True)
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "登录" in client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)


def test_times_are_shown_in_the_store_time_zone(client, world, session):
    from datetime import UTC, datetime

    sold_at = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)  # 14:30 in Hong Kong and Shanghai
    inventory.record_sale(session, store_id=world["b"].id, sku="RK-MAX2-BLK", serials=["SN-B1"], at=sold_at)
    sign_in(client, "planner@example.com")
    page = client.get(f"/stores/{world['b'].id}/sale").get_data(as_text=True)
    assert re.search(r"11/20/26, 2:30\W?PM", page) and not re.search(r"6:30\W?AM", page)  # CLDR: narrow nbsp
