"""Counting serialised stock by scanning serials, and returns only where a unit was sold; both backends.

Shop world: store A holds SN-A1..SN-A3 of RK-MAX2-BLK (wholesale CNY 2,100: one missing unit is a large
difference) and 5 RK-CASE; store B holds SN-B1, SN-B2; SN-D1, SN-D2 are on their way to A.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from retail.models import Movement, SerialUnit, StockBalance, StockCount
from tests.web.factories import post, sign_in


@pytest.fixture
def database_url(both_backends) -> str:
    return both_backends


def on_hand(session, world, store, product) -> int:
    return session.get(StockBalance, (world[store].id, world[product].id), populate_existing=True).on_hand


def state(session, serial) -> str:
    return session.get(SerialUnit, serial, populate_existing=True).state


def adjustments(session) -> int:
    return session.execute(select(func.count()).select_from(Movement).where(
        Movement.kind == "count_adjustment")).scalar_one()


def test_return_at_another_store_than_the_sale_is_refused_in_the_readers_language(app, client, world, session):
    sign_in(client, "staff@a.example.com")
    assert post(client, f"/stores/{world['a'].id}/sale", {"serials": "SN-A1"}).status_code == 302
    other = app.test_client()
    sign_in(other, "staff@b.example.com")  # zh_Hant
    refused = post(other, f"/stores/{world['b'].id}/return", {"serials": "SN-A1"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "序號 SN-A1 不是本店可用於此操作的商品：請核對號碼。" in page and "S0001" not in page and ">SN-A1</textarea>" in page
    assert state(session, "SN-A1") == "sold" and on_hand(session, world, "b", "glasses") == 2
    assert post(client, f"/stores/{world['a'].id}/return", {"serials": "SN-A1"}).status_code == 302
    assert state(session, "SN-A1") == "in_stock" and on_hand(session, world, "a", "glasses") == 3


def test_count_page_asks_serialised_products_for_their_serials(client, world):
    sign_in(client, "staff@a.example.com")
    page = client.get(f"/stores/{world['a'].id}/count").get_data(as_text=True)
    assert '<textarea name="shelf"' in page and 'name="counted-RK-MAX2-BLK"' not in page  # one box, the shelf
    assert 'name="serials-RK-CASE"' not in page and 'name="counted-RK-CASE"' in page
    assert 'name="csrf_token"' in page and "货架上的序列号" in page


def test_manager_count_by_serial_writes_off_the_unit_not_scanned(client, world, session):
    sign_in(client, "manager@a.example.com")
    a = world["a"].id
    response = post(client, f"/stores/{a}/count", {"serials-RK-MAX2-BLK": "SN-A3\nSN-A1\n", "counted-RK-MAX2-BLK": "",
                                                   "counted-RK-CASE": "5", "reason": "monthly count"})
    assert response.status_code == 302
    count = session.execute(select(StockCount)).scalar_one()
    assert count.status == "applied"  # large (one pair at CNY 2,100) but the manager may approve
    assert (state(session, "SN-A1"), state(session, "SN-A2"), state(session, "SN-A3")) == (
        "in_stock", "written_off", "in_stock")
    assert on_hand(session, world, "a", "glasses") == 2 and on_hand(session, world, "a", "case") == 5
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "未扫描，已按丢失核销：" in detail and "SN-A2" in detail
    # The same count sent again (a double tap, a retry) moves nothing more.
    again = post(client, f"/stores/{a}/count", {"serials-RK-MAX2-BLK": "SN-A1 SN-A3", "reason": "monthly count"})
    assert again.status_code == 302
    assert adjustments(session) == 1 and on_hand(session, world, "a", "glasses") == 2


def test_held_serial_count_applies_its_findings_to_the_stock_of_approval_time(app, client, world, session):
    sign_in(client, "staff@a.example.com")
    a = world["a"].id
    assert post(client, f"/stores/{a}/count", {"serials-RK-MAX2-BLK": "SN-A1\nSN-A3",
                                               "reason": "weekly count"}).status_code == 302
    count = session.execute(select(StockCount)).scalar_one()
    assert count.status == "pending_approval" and state(session, "SN-A2") == "in_stock"  # nothing moves yet
    detail = client.get(f"/stores/{a}/count/{count.id}").get_data(as_text=True)
    assert "未扫描（批准后按丢失核销）：" in detail and "SN-A2" in detail
    # Before the manager decides: SN-A3 is sold, and the delivery with SN-D1 and SN-D2 arrives.
    assert post(client, f"/stores/{a}/sale", {"serials": "SN-A3"}).status_code == 302
    delivery = world["delivery_a"].id
    assert post(client, f"/stores/{a}/deliveries/{delivery}", {"received-RK-MAX2-BLK": "2",
                                                               "serials-RK-MAX2-BLK": "SN-D1 SN-D2",
                                                               "received-RK-CASE": "4"}).status_code == 302
    manager = app.test_client()
    sign_in(manager, "manager@a.example.com")
    assert post(manager, f"/stores/{a}/count/{count.id}", {"decision": "approve"}).status_code == 302
    assert (state(session, "SN-A2"), state(session, "SN-A3"), state(session, "SN-D1"), state(session, "SN-D2")) == (
        "written_off", "sold", "in_stock", "in_stock")
    assert on_hand(session, world, "a", "glasses") == 3  # SN-A1, SN-D1, SN-D2
    in_stock = session.execute(select(func.count()).select_from(SerialUnit).where(
        SerialUnit.location_id == a, SerialUnit.product_id == world["glasses"].id,
        SerialUnit.state == "in_stock")).scalar_one()
    assert in_stock == 3


def test_scanning_units_that_are_not_in_stock_here_is_refused_and_names_them(app, client, world, session):
    sign_in(client, "staff@a.example.com")
    a = world["a"].id
    typed = "SN-A1\nSN-B1\nSN-A2\nNOPE"
    response = post(client, f"/stores/{a}/count", {"serials-RK-MAX2-BLK": typed, "reason": "weekly count"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "以下 RK-MAX2-BLK 序列号不在本店库存中" in page and "SN-B1, NOPE" in page
    # the per-SKU box is still read (API-like posts); the page now has one shelf box, which keeps its scan
    shelf = post(client, f"/stores/{a}/count", {"shelf": typed, "reason": "weekly count", "action": "confirm"})
    page = shelf.get_data(as_text=True)
    assert shelf.status_code == 422 and "不属于本店库存" in page and "SN-B1, NOPE" in page
    assert f">{typed}</textarea>" in page  # what was scanned is kept
    assert session.execute(select(StockCount)).first() is None and adjustments(session) == 0
    planner = app.test_client()
    sign_in(planner, "planner@example.com")  # en
    english = post(planner, f"/stores/{a}/count", {"serials-RK-MAX2-BLK": "SN-D1", "reason": "count"})
    assert english.status_code == 422
    assert ("Not in this store's stock of RK-MAX2-BLK (sold, on display, at another location or unknown): SN-D1."
            in english.get_data(as_text=True).replace("&#39;", "'"))


def test_a_count_of_serialised_units_without_serials_asks_for_them(client, world, session):
    sign_in(client, "staff@a.example.com")
    response = post(client, f"/stores/{world['a'].id}/count", {"counted-RK-MAX2-BLK": "2", "reason": "count"})
    assert response.status_code == 422 and "应扫描 2 个，实际 0 个" in response.get_data(as_text=True)
    assert on_hand(session, world, "a", "glasses") == 3 and adjustments(session) == 0
