"""The planners' dashboard in Debian's Chromium against gunicorn (issue 16): a planner drills down from the
network to a store and a SKU; a CSV export's totals are the database's; a proposed transfer approved from the
action list shows in the ledger afterwards."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from retail.models import Location, Movement, PlanDecision, Product, StockBalance, TransferRequest
from retail.services import dashboard
from tests.browser.conftest import serve_world
from tests.web.factories import PASSWORD
from tests.web.test_dashboard import dashboard_world

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def served_db(sqlite_template, tmp_path_factory):
    """This module's world: the shop world with sales, a plan's proposals, the dashboard refreshed."""
    yield from serve_world(dashboard_world, sqlite_template, tmp_path_factory)


@pytest.fixture
def desk(browser, server):
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", base_url=server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in_planner(page, world):
    page.goto("/login")
    page.fill("input[name=email]", world["planner"].email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(lambda url: "/login" not in url)


def test_planner_drills_down_from_the_network_to_a_store_and_a_sku(desk, served_db, shots):
    _url, engine, world = served_db
    page = desk
    sign_in_planner(page, world)
    page.click("text=Network dashboard")
    page.wait_for_selector("h1")
    assert page.locator("svg.chart").count() >= 6  # the six KPI trends, inline SVG
    assert page.locator("#kpi-turnover").inner_text() not in ("", "—")
    shots(page, "dashboard-network")
    page.locator("#table-brand a", has_text="Rokid").first.click()
    page.wait_for_selector("#table-province")
    assert "Rokid" in page.locator("h1").inner_text()
    page.locator("#table-province a", has_text="Shanghai").first.click()
    page.wait_for_selector("#table-store")
    page.locator("#table-store a", has_text="S0001").first.click()
    page.wait_for_selector("#table-sku")
    assert "S0001" in page.locator("h1").inner_text()
    shots(page, "dashboard-store")
    page.locator("#table-sku a", has_text="RK-CASE").first.click()
    page.wait_for_selector("#table-ledger")
    assert "RK-CASE" in page.locator("h1").inner_text()
    with Session(engine) as s:
        balance = s.get(StockBalance, (world["a"].id, world["case"].id))
    assert page.locator("#on-hand").inner_text() == str(balance.on_hand)
    shots(page, "dashboard-sku")
    page.click("text=Store home")  # the store page is the store home that staff see
    page.wait_for_selector("nav.tabs")
    assert f"/stores/{world['a'].id}" in page.url


def test_a_csv_exports_totals_are_the_databases(desk, served_db):
    _url, engine, world = served_db
    with Session(engine) as s:  # the figures as of now (another test may have moved stock)
        dashboard.refresh(s, as_of=world["monday"] + timedelta(weeks=1))
        sold = -s.execute(select(func.sum(Movement.quantity)).join(Location, Location.id == Movement.location_id)
                          .where(Movement.kind == "sale", Location.kind == "store")).scalar()
        stock_value = float(s.execute(
            select(func.sum(StockBalance.on_hand * Product.wholesale_cost))
            .join(Product, Product.id == StockBalance.product_id)
            .join(Location, Location.id == StockBalance.location_id).where(Location.kind == "store")).scalar())
    page = desk
    sign_in_planner(page, world)
    page.goto("/network/")
    with page.expect_download() as info:
        page.locator("#table-brand").locator("xpath=../following-sibling::p[1]//a").click()
    text = open(info.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and sum(int(r["Units sold"]) for r in rows) == sold
    assert sum(float(r["Stock at cost (CNY)"]) for r in rows) == pytest.approx(stock_value)


def test_a_proposed_transfer_approved_shows_in_the_ledger(desk, served_db, shots):
    _url, engine, world = served_db
    proposal = world["proposal"]
    with Session(engine) as s:
        before = s.get(StockBalance, (world["a"].id, world["glasses"].id)).on_hand
    page = desk
    sign_in_planner(page, world)
    page.goto("/network/actions")
    page.check(f"#transfers input[name=id][value='{proposal.id}']")
    shots(page, "dashboard-actions")
    page.click("#transfers button[value=approve]")
    page.wait_for_selector("p.flash")
    assert page.locator(f"#transfers input[name=id][value='{proposal.id}']").count() == 0
    with Session(engine) as s:
        decision = s.execute(select(PlanDecision).where(PlanDecision.proposal_id == proposal.id)).scalar_one()
        transfer = s.get(TransferRequest, decision.transfer_request_id)
        assert transfer.status == "shipped"
        assert s.get(StockBalance, (world["a"].id, world["glasses"].id)).on_hand == before - 1
    page.goto(f"/network/stores/{world['a'].id}/skus/{world['glasses'].id}")
    ledger = page.locator("#table-ledger tbody tr").first.inner_text()
    assert "transfer_out" in ledger and "-1" in ledger and f"TR-{transfer.id}" in ledger
    shots(page, "dashboard-ledger")


def test_a_header_checkbox_ticks_a_whole_list(desk, served_db):
    _url, _engine, world = served_db
    page = desk
    sign_in_planner(page, world)
    page.goto("/network/actions")
    boxes = page.locator("#purchases input[name=id]")
    assert boxes.count() >= 1
    page.check("#purchases input[data-all]")
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
