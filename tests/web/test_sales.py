"""At the till: sales by serial or barcode, missed sales, returns; on both backends."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from retail.models import MissedSale, Movement, SerialUnit, StockBalance
from tests.web.factories import post, sign_in


@pytest.fixture
def database_url(both_backends) -> str:
    return both_backends


def on_hand(session, world, store, product) -> int:
    return session.get(StockBalance, (world[store].id, world[product].id), populate_existing=True).on_hand


def test_staff_sells_several_serials_in_one_scan(client, world, session):
    sign_in(client, "staff@a.example.com")
    response = post(client, f"/stores/{world['a'].id}/sale", {"serials": "SN-A1\nSN-A2 \n"})
    assert response.status_code == 302
    assert "已登记：2 件" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert on_hand(session, world, "a", "glasses") == 1
    assert {session.get(SerialUnit, s, populate_existing=True).state for s in ("SN-A1", "SN-A2")} == {"sold"}
    sale = session.execute(select(Movement).where(Movement.kind == "sale")).scalar_one()
    assert sale.actor_id == world["staff"].id and sale.quantity == -2 and sale.currency == "CNY"


def test_a_serial_of_another_store_is_refused_and_the_form_keeps_it(client, world, session):
    sign_in(client, "staff@a.example.com")
    response = post(client, f"/stores/{world['a'].id}/sale", {"serials": "SN-B1", "quantity": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "序列号 SN-B1 不是本店可用于此操作的商品：请核对号码。" in page and ">SN-B1</textarea>" in page
    assert session.execute(select(func.count()).select_from(Movement).where(Movement.kind == "sale")).scalar() == 0


def test_serialised_sku_without_serials_asks_for_them(client, world):
    sign_in(client, "staff@a.example.com")
    response = post(client, f"/stores/{world['a'].id}/sale", {"sku": "RK-MAX2-BLK", "quantity": "2"})
    assert response.status_code == 422 and "应扫描 2 个，实际 0 个" in response.get_data(as_text=True)


def test_sale_by_barcode_with_full_width_quantity(client, world, session):
    sign_in(client, "staff@a.example.com")
    response = post(client, f"/stores/{world['a'].id}/sale", {"sku": "6970000000024", "quantity": "２"})
    assert response.status_code == 302
    assert on_hand(session, world, "a", "case") == 3


def test_bad_quantity_is_explained_in_english_for_an_english_user(client, world, session):
    sign_in(client, "planner@example.com")
    response = post(client, f"/stores/{world['a'].id}/sale", {"sku": "RK-CASE", "quantity": "two"})
    assert response.status_code == 422
    assert "Enter a whole number of at least 1 (not two)." in response.get_data(as_text=True)


def test_selling_more_than_on_hand_is_refused(client, world, session):
    sign_in(client, "staff@a.example.com")
    response = post(client, f"/stores/{world['a'].id}/sale", {"sku": "RK-CASE", "quantity": "6"})
    assert response.status_code == 422 and "仅剩 5 件，需要 6 件" in response.get_data(as_text=True)
    assert on_hand(session, world, "a", "case") == 5


def test_missed_sale_is_recorded_for_the_forecast(client, world, session):
    sign_in(client, "staff@a.example.com")
    response = post(client, f"/stores/{world['a'].id}/missed", {"sku": "RK-MAX2-BLK", "quantity": "2",
                                                               "reason": "no_demo", "note": "wanted black"})
    assert response.status_code == 302
    missed = session.execute(select(MissedSale)).scalar_one()
    assert (missed.store_id, missed.product_id, missed.quantity, missed.reason) == (
        world["a"].id, world["glasses"].id, 2, "no_demo")
    unknown = post(client, f"/stores/{world['a'].id}/missed", {"sku": "NOPE"})
    assert unknown.status_code == 422 and "NOPE" in unknown.get_data(as_text=True)


def test_return_by_serial_and_by_sale_number(client, world, session):
    sign_in(client, "staff@a.example.com")
    a = world["a"].id
    post(client, f"/stores/{a}/sale", {"serials": "SN-A1"})
    post(client, f"/stores/{a}/sale", {"sku": "RK-CASE", "quantity": "2"})
    case_sale = session.execute(select(Movement).where(Movement.kind == "sale", Movement.product_id ==
                                                       world["case"].id)).scalar_one()
    assert post(client, f"/stores/{a}/return", {"serials": "SN-A1"}).status_code == 302
    assert session.get(SerialUnit, "SN-A1", populate_existing=True).state == "in_stock"
    assert post(client, f"/stores/{a}/return", {"sale": str(case_sale.id), "quantity": "1"}).status_code == 302
    too_many = post(client, f"/stores/{a}/return", {"sale": str(case_sale.id), "quantity": "2"})
    assert too_many.status_code == 422 and "已退 1 件" in too_many.get_data(as_text=True)
    never_sold = post(client, f"/stores/{a}/return", {"serials": "SN-A3"})
    assert never_sold.status_code == 422 and "SN-A3" in never_sold.get_data(as_text=True)
    assert on_hand(session, world, "a", "case") == 4 and on_hand(session, world, "a", "glasses") == 3
    returns = session.execute(select(Movement.reference).where(Movement.kind == "return")).scalars().all()
    assert sorted(returns) == sorted([f"SALE-{case_sale.id}", f"SALE-{case_sale.id - 1}"])
