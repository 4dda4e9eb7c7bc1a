"""The customer-order pages: a clerk takes an order from the sale page's link, the origin store ships it from
its list, the clerk receives and hands it over; another store's order is 404; forms need the CSRF token and
act once per one-time key. On SQLite and PostgreSQL."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from retail.models import CustomerOrder, Movement, StockBalance, User
from retail.services import customer_orders
from tests.committing import inventory
from tests.customer_orders.pages_world import SHOW_SKU, endless_aisle_world
from tests.web.factories import csrf_token, sign_in


@pytest.fixture
def world(session):
    return endless_aisle_world(session)


def form_post(client, page: str, action: str, data: dict):
    """Post a form of `page` as the browser would: its CSRF token and its one-time key."""
    html = client.get(page).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    return client.post(action, data={**data, "csrf_token": csrf_token(client, page), "idempotency_key": key})


def test_the_order_from_the_sale_page_to_the_hand_over(client, world, session):
    a, c = world["a"].id, world["c"].id
    sign_in(client, "staff@a.example.com")
    sale = client.get(f"/stores/{a}/sale?sku={SHOW_SKU}").get_data(as_text=True)
    assert f"/stores/{a}/customer-orders?sku={SHOW_SKU}" in sale
    assert 'id="shown-only"' in client.get(f"/stores/{a}/sale").get_data(as_text=True)  # A only shows it
    listing = client.get(f"/stores/{a}/customer-orders?sku={SHOW_SKU}")
    assert listing.status_code == 200 and f'value="{SHOW_SKU}"' in listing.get_data(as_text=True)
    response = form_post(client, f"/stores/{a}/customer-orders", f"/stores/{a}/customer-orders", {
        "sku": SHOW_SKU, "quantity": "1", "deposit": "300", "promised_date": (date.today() + timedelta(days=2)).isoformat(),
        "fulfilment": "pickup", "customer_ref": "单号 778", "contact": "139 1234 5678"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    order = session.execute(select(CustomerOrder)).scalars().one()
    assert (order.state, order.source_location_id) == ("sourced", c)
    page = f"/stores/{a}/customer-orders/{order.id}"
    assert client.get(page).status_code == 200

    client.post("/logout", data={"csrf_token": csrf_token(client, "/password")})
    sign_in(client, "staff@c.example.com")
    assert f"/stores/{c}/customer-orders/{order.id}" in client.get(f"/stores/{c}/customer-orders").get_data(as_text=True)
    origin_page = f"/stores/{c}/customer-orders/{order.id}"
    assert "ST-C1" in client.get(origin_page).get_data(as_text=True)
    assert form_post(client, origin_page, origin_page + "/ship", {"serials": "ST-C2"}).status_code == 302
    assert client.get(page).status_code == 403  # A's page is not C's

    client.post("/logout", data={"csrf_token": csrf_token(client, "/password")})
    sign_in(client, "staff@a.example.com")
    assert form_post(client, page, page + "/arrive", {"serials": "ST-C2"}).status_code == 302
    done = form_post(client, page, page + "/hand-over", {})
    assert done.status_code == 302
    session.rollback()  # a fresh snapshot: the app committed in its own connection
    order = session.get(CustomerOrder, order.id, populate_existing=True)
    sale = session.get(Movement, order.sale_movement_id)
    assert order.state == "handed_over" and sale.reference == f"CO-{order.id}" and sale.location_id == a
    assert session.get(StockBalance, (a, world["station"].id), populate_existing=True).reserved == 0
    html = client.get(page).get_data(as_text=True)
    assert f"#{sale.id}" in html or str(sale.id) in html


def test_another_stores_order_is_404_and_forms_need_csrf_and_act_once(client, world, session):
    a, b = world["a"].id, world["b"].id
    sign_in(client, "staff@a.example.com")
    form_post(client, f"/stores/{a}/customer-orders", f"/stores/{a}/customer-orders", {
        "sku": SHOW_SKU, "quantity": "1", "promised_date": date.today().isoformat(), "customer_ref": "X1"})
    order = session.execute(select(CustomerOrder)).scalars().one()
    page = f"/stores/{a}/customer-orders/{order.id}"
    # no CSRF token: refused, nothing changes
    assert client.post(page + "/cancel", data={}).status_code == 400
    # the same one-time key twice: one cancellation
    html = client.get(page).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    token = csrf_token(client, page)
    first = client.post(page + "/cancel", data={"csrf_token": token, "idempotency_key": key, "reason": "r"})
    second = client.post(page + "/cancel", data={"csrf_token": token, "idempotency_key": key, "reason": "r"})
    assert first.status_code == 302 and second.status_code == 303
    session.rollback()  # a fresh snapshot: the app committed in its own connection
    assert session.get(CustomerOrder, order.id, populate_existing=True).state == "cancelled"
    # a refusal is the form again with the sentence, 422
    bad = form_post(client, f"/stores/{a}/customer-orders", f"/stores/{a}/customer-orders", {
        "sku": SHOW_SKU, "quantity": "9", "promised_date": date.today().isoformat(), "customer_ref": "X2"})
    assert bad.status_code == 422 and 'id="form-error"' in bad.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/password")})
    sign_in(client, "staff@b.example.com")
    assert client.get(f"/stores/{b}/customer-orders/{order.id}").status_code == 404
    assert form_post(client, f"/stores/{b}/customer-orders", f"/stores/{b}/customer-orders/{order.id}/cancel",
                     {}).status_code == 404
    assert client.get("/customer-orders/dc").status_code == 403


def test_a_planner_ships_the_dc_orders_from_the_dc_page(client, world, session):
    a = world["a"].id
    inventory.receive_purchase(session, location_id=world["dc"].id, sku=SHOW_SKU, quantity=3,
                               serials=["ST-D1", "ST-D2", "ST-D3"], reference="PO-DC-ST")
    order = customer_orders.place(session, session.get(User, world["staff"].id), store_id=a, sku=SHOW_SKU,
                                  quantity=3, promised_date=date.today(), customer_ref="DC-1")
    assert order.source_kind == "dc"  # store C can spare 2 of its 3, not 3
    sign_in(client, "planner@example.com")
    listing = client.get("/customer-orders/dc").get_data(as_text=True)
    assert f"CO-{order.id}" in listing
    shipped = form_post(client, "/customer-orders/dc", f"/customer-orders/dc/{order.id}/ship", {})
    assert shipped.status_code == 302 and shipped.location.endswith("/customer-orders/dc"), shipped.location
    assert 'id="dc-orders"' not in client.get("/customer-orders/dc").get_data(as_text=True)
    session.rollback()  # a fresh snapshot: the app committed in its own connection
    assert session.get(CustomerOrder, order.id, populate_existing=True).state == "shipped"


def test_hong_kong_staff_read_traditional_chinese_and_prices_in_hkd(client, world, session):
    b = world["b"].id
    sign_in(client, "staff@b.example.com")  # zh_Hant
    html = client.get(f"/stores/{b}/customer-orders").get_data(as_text=True)
    assert "為顧客訂貨" in html and "訂金（HKD，選填）" in html and "登記訂貨" in html
    refused = form_post(client, f"/stores/{b}/customer-orders", f"/stores/{b}/customer-orders", {
        "sku": SHOW_SKU, "quantity": "1", "deposit": "HK$3,000", "promised_date": date.today().isoformat(),
        "customer_ref": "HK-1"})
    assert refused.status_code == 422 and "訂金 3000.00 高於售價 2699.00 HKD" in refused.get_data(as_text=True)
