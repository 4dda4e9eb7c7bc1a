"""The endless aisle on a phone (issue 17), in Simplified Chinese at 390 x 844: a clerk of store A orders a model
A only shows (an approved `show` range row, its demo unit on display) for a customer from the sale page; store C
of the same city, the origin the system picked, ships it from its "to ship" list; the clerk receives it and
hands it over. Afterwards the ledger (balances, movements, the sale, the serial) and the order's history are
read from the database. Screenshots go to test-output/screenshots/customer-order-*.png."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from retail.models import CustomerOrder, CustomerOrderEvent, Movement, SerialUnit, StockBalance, StoreRange
from tests.browser.conftest import PHONE, serve_world
from tests.browser.test_store_flows import sign_in
from tests.committing import inventory
from tests.customer_orders.pages_world import SHOW_SKU, endless_aisle_world
from tests.web.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served_db(sqlite_template, tmp_path_factory):
    yield from serve_world(endless_aisle_world, sqlite_template, tmp_path_factory)


def phone(browser, server):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=server)
    context.set_default_timeout(10_000)
    return context


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def balance(s, location_id, product_id) -> tuple[int, int, int, int]:
    row = s.get(StockBalance, (location_id, product_id))
    return (row.on_hand, row.reserved, row.in_transit, row.demo)


def test_a_show_sku_ordered_shipped_by_a_store_of_the_city_received_and_handed_over(browser, server, served_db, shots):
    _url, engine, world = served_db
    a, c, station = world["a"].id, world["c"].id, world["station"].id
    with Session(engine) as s:
        assert s.execute(select(StoreRange.decision).where(StoreRange.location_id == a,
                                                           StoreRange.product_id == station)).scalar_one() == "show"
        assert balance(s, a, station) == (0, 0, 0, 1)  # only the demo unit
    clerk_context, origin_context = phone(browser, server), phone(browser, server)
    clerk, origin = clerk_context.new_page(), origin_context.new_page()
    try:
        # 1. the clerk, at the till: the model is not on the shelf, so she orders it for the customer
        sign_in(clerk, "staff@a.example.com")
        clerk.goto(f"/stores/{a}/sale")
        shown = clerk.locator("#shown-only")  # the models A only shows, each with its order link
        assert "仅陈列样机（订货销售）" in clerk.locator("main").inner_text() and SHOW_SKU in shown.inner_text()
        assert clerk.locator("#order-for-customer a").inner_text() == "为顾客订货"
        shown.locator("li", has_text=SHOW_SKU).locator("a").click()
        clerk.wait_for_selector("#customer-order-form")
        assert clerk.locator("h1").inner_text() == "为顾客订货"
        assert clerk.input_value("#customer-order-form input[name=sku]") == SHOW_SKU
        clerk.fill("input[name=quantity]", "1")
        clerk.fill("input[name=deposit]", "500")
        clerk.fill("input[name=promised_date]", (date.today() + timedelta(days=2)).isoformat())
        clerk.select_option("select[name=fulfilment]", "pickup")
        clerk.fill("input[name=customer_ref]", "小票 0088")
        clerk.fill("input[name=contact]", "139 0000 1234")
        fits_the_phone(clerk)
        shots(clerk, "customer-order-1-take")
        clerk.click("#customer-order-form button.primary")
        clerk.wait_for_selector("#order-state")
        assert "已登记客户订货单 CO-" in clerk.locator(".flash").inner_text()
        assert clerk.locator("#order-state").inner_text() == "待发货"
        assert "等待 S0030 发货" in clerk.locator("main").inner_text()
        order_id = int(clerk.url.rstrip("/").rsplit("/", 1)[1])
        with Session(engine) as s:
            order = s.get(CustomerOrder, order_id)
            assert (order.state, order.source_location_id, order.deposit) == ("sourced", c, Decimal("500.00"))
            assert balance(s, c, station)[:2] == (3, 1)  # held at the origin

        # 2. store C, the origin the system picked, ships it from its list
        sign_in(origin, "staff@c.example.com")
        origin.goto(f"/stores/{c}/customer-orders")
        assert "待发货的客户订货" in origin.locator("main").inner_text()
        origin.locator("#to-ship a").first.click()
        origin.wait_for_selector("#ship")
        assert "ST-C1" in origin.locator("#ship").inner_text()
        assert "小票 0088" not in origin.locator("main").inner_text()  # the customer's details stay at A
        origin.fill("#ship textarea[name=serials]", "ST-C1")
        fits_the_phone(origin)
        shots(origin, "customer-order-2-ship")
        origin.click("#ship button.primary")
        origin.wait_for_selector(".flash")
        assert "已发货" in origin.locator(".flash").inner_text()

        # 3. the clerk receives it (scanning the serial) and hands it over
        clerk.goto(f"/stores/{a}/customer-orders")
        assert clerk.locator("#customer-orders li[data-state=shipped] a").first.inner_text().startswith(f"CO-{order_id}")
        clerk.goto(f"/stores/{a}/customer-orders/{order_id}")
        assert clerk.locator("#order-state").inner_text() == "在途"
        clerk.fill("#arrive textarea[name=serials]", "ST-C1")
        clerk.click("#arrive button.primary")
        clerk.wait_for_selector("#hand-over")
        assert "已签收" in clerk.locator(".flash").inner_text()
        hand_over = clerk.locator("#hand-over").inner_text()
        assert "1,999.00" in hand_over and "ST-C1" in hand_over  # 2,499 less the 500 deposit
        shots(clerk, "customer-order-3-hand-over")
        clerk.click("#hand-over button.primary")
        clerk.wait_for_selector("#order-sale")
        assert "已交付" in clerk.locator(".flash").inner_text()
        assert clerk.locator("#order-state").inner_text() == "已交付"
        history = clerk.locator("#order-history li").all_inner_texts()
        assert [h.split()[0] for h in history] == ["等待货源", "待发货", "在途", "已到货，为顾客保留", "已交付"]
        fits_the_phone(clerk)
        shots(clerk, "customer-order-4-done")
    finally:
        clerk_context.close()
        origin_context.close()

    # 4. the ledger and the history, from the database
    with Session(engine) as s:
        order = s.get(CustomerOrder, order_id)
        assert order.state == "handed_over" and order.serials == ["ST-C1"]
        sale = s.get(Movement, order.sale_movement_id)
        assert (sale.kind, sale.location_id, sale.product_id, sale.quantity, sale.unit_price, sale.currency,
                sale.reference) == ("sale", a, station, -1, Decimal("2499.00"), "CNY", f"CO-{order_id}")
        assert s.get(SerialUnit, "ST-C1").state == "sold" and s.get(SerialUnit, "ST-DEMO").state == "demo"
        assert balance(s, a, station) == (0, 0, 0, 1)  # sold; the demo unit still on display
        assert balance(s, c, station) == (2, 0, 0, 0)
        kinds = s.execute(select(Movement.location_id, Movement.kind, Movement.quantity)
                          .where(Movement.product_id == station, Movement.reference != "PO-DEMO",
                                 Movement.reference != "PO-C")).all()
        assert sorted(map(tuple, kinds)) == sorted([(c, "transfer_out", -1), (a, "transfer_in", 1), (a, "sale", -1)])
        for location in (a, c):
            moved = s.execute(select(func.sum(Movement.quantity)).where(
                Movement.location_id == location, Movement.product_id == station)).scalar_one()
            assert moved == balance(s, location, station)[0]
        states = list(s.execute(select(CustomerOrderEvent.to_state).where(CustomerOrderEvent.order_id == order_id)
                                .order_by(CustomerOrderEvent.id)).scalars())
        assert states == ["placed", "sourced", "shipped", "arrived", "handed_over"]


def test_from_the_dc_a_planner_ships_and_the_clerk_hands_over(browser, server, served_db, shots):
    """Two units, more than the city's stores can spare: the DC is the source; a planner (on a laptop, in
    English) ships it from the DC list; the clerk (phone, Simplified Chinese) receives and hands it over."""
    _url, engine, world = served_db
    a, dc, station = world["a"].id, world["dc"].id, world["station"].id
    with Session(engine, expire_on_commit=False) as s:
        inventory.receive_purchase(s, location_id=dc, sku=SHOW_SKU, quantity=2, serials=["ST-D1", "ST-D2"],
                                   reference="PO-DC-STATION")
        c_before = balance(s, world["c"].id, station)
    clerk_context = phone(browser, server)
    planner_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB", base_url=server)
    clerk, planner = clerk_context.new_page(), planner_context.new_page()
    try:
        sign_in(clerk, "staff@a.example.com")
        clerk.goto(f"/stores/{a}/customer-orders?sku={SHOW_SKU}")
        clerk.fill("input[name=quantity]", "2")
        clerk.fill("input[name=promised_date]", (date.today() + timedelta(days=3)).isoformat())
        clerk.select_option("select[name=fulfilment]", "delivery")
        clerk.fill("input[name=customer_ref]", "小票 0099")
        clerk.fill("input[name=address]", "上海市徐汇区某路 8 号")
        clerk.click("#customer-order-form button.primary")
        clerk.wait_for_selector("#order-state")
        assert "由仓库发货" in clerk.locator("main").inner_text()
        order_id = int(clerk.url.rstrip("/").rsplit("/", 1)[1])

        planner.goto("/login")  # a planner has no store tabs: signed in when the login form is gone
        planner.fill("input[name=email]", "planner@example.com")
        planner.fill("input[name=password]", PASSWORD)
        planner.click("button.primary")
        planner.wait_for_url(lambda url: "/login" not in url)
        planner.goto("/customer-orders/dc")
        row = planner.locator("#dc-orders li", has_text=f"CO-{order_id}")
        assert "DC-SH → S0001" in row.inner_text() and "上海市" not in planner.locator("main").inner_text()
        row.locator("button").click()
        planner.wait_for_selector(".flash")
        assert f"Customer order CO-{order_id} shipped from the DC." in planner.locator(".flash").inner_text()

        clerk.goto(f"/stores/{a}/customer-orders/{order_id}")
        assert clerk.locator("#order-state").inner_text() == "在途"
        assert "ST-D1, ST-D2" in clerk.locator("#arrive").inner_text()
        clerk.fill("#arrive textarea[name=serials]", "ST-D1\nST-D2")
        clerk.click("#arrive button.primary")
        clerk.wait_for_selector("#hand-over")
        clerk.click("#hand-over button.primary")
        clerk.wait_for_selector("#order-sale")
        assert clerk.locator("#order-state").inner_text() == "已交付"
        fits_the_phone(clerk)
        shots(clerk, "customer-order-5-from-the-dc")
    finally:
        clerk_context.close()
        planner_context.close()

    with Session(engine) as s:
        order = s.get(CustomerOrder, order_id)
        assert (order.state, order.source_location_id, sorted(order.serials)) == ("handed_over", dc, ["ST-D1", "ST-D2"])
        sale = s.get(Movement, order.sale_movement_id)
        assert (sale.quantity, sale.unit_price, sale.reference) == (-2, Decimal("2499.00"), f"CO-{order_id}")
        shipped = s.execute(select(Movement.kind, Movement.quantity).where(
            Movement.location_id == dc, Movement.reference == f"CO-{order_id}")).all()
        assert list(map(tuple, shipped)) == [("transfer_out", -2)]
        assert balance(s, dc, station)[:3] == (0, 0, 0) and balance(s, world["c"].id, station) == c_before
        assert balance(s, a, station)[:3] == (0, 0, 0)
        assert {s.get(SerialUnit, x).state for x in ("ST-D1", "ST-D2")} == {"sold"}
        states = list(s.execute(select(CustomerOrderEvent.to_state).where(CustomerOrderEvent.order_id == order_id)
                                .order_by(CustomerOrderEvent.id)).scalars())
        assert states == ["placed", "sourced", "shipped", "arrived", "handed_over"]
