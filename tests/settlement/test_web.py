"""The settlement pages (issue 15), on SQLite and PostgreSQL: the store's agreement and statements (PDF, CSV)
scoped to the store; the planners' page 403 to store staff and brand partners; the planners' forms behind CSRF,
acting once when posted twice; a held order approved only with the hold acknowledged."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from retail import create_app
from retail.config import Settings
from retail.models import OrderStatus, Payment, ReplenishmentOrder, Statement
from retail.services import agreements, settlement
from tests.committing import inventory
from tests.settlement.helpers import at, order
from tests.web.factories import csrf_token, shop_world, sign_in

OCTOBER = date(2026, 10, 1)


@pytest.fixture
def app(database_url):
    app = create_app(Settings(env="test", database_url=database_url, redis_url=None))
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture
def w(session):
    w = shop_world(session)
    planner = w["planner"]
    agreements.create_version(session, planner, store_id=w["a"].id, valid_from=date(2026, 1, 1), model="franchise",
                              wholesale_tier="B", credit_limit="500")
    agreements.create_version(session, planner, store_id=w["b"].id, valid_from=date(2026, 1, 1),
                              model="consignment", revenue_share="0.25")
    inventory.record_sale(session, store_id=w["b"].id, sku="RK-MAX2-BLK", serials=["SN-B1"], unit_price="3000",
                          at=at("2026-10-08"))
    settlement.record_payment(session, planner, store_id=w["a"].id, amount="100", received_on=date(2026, 10, 9),
                              reference="=cmd|' /C calc'!A0")
    settlement.run_month(session, month=OCTOBER, now=datetime(2026, 11, 2, tzinfo=UTC))
    w["sa"], w["sb"] = (session.execute(select(Statement.id).where(Statement.location_id == w[k].id)).scalar_one()
                        for k in ("a", "b"))
    session.commit()
    return w


def test_store_pages_show_the_agreement_and_statements_of_their_store_only(client, w):
    a, b = w["a"].id, w["b"].id
    sign_in(client, "manager@a.example.com")
    page = client.get(f"/stores/{a}/settlement").get_data(as_text=True)
    assert "ST-S0001-202610-1" in page and "ST-S0002" not in page
    assert client.get(f"/stores/{a}/settlement/statements/{w['sa']}").status_code == 200
    pdf = client.get(f"/stores/{a}/settlement/statements/{w['sa']}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    body = client.get(f"/stores/{a}/settlement/statements/{w['sa']}/csv").get_data(as_text=True)
    assert "'=cmd|' /C calc'!A0" in body and "\n=cmd" not in body and ",=cmd" not in body  # no formula
    assert ",-100.00" in body and ",100.00" in body  # the closing balance and the payment: numbers stay numbers
    # Another store's statement, named under this store: 404 (its existence is not confirmed).
    for suffix in ("", "/pdf", "/csv"):
        assert client.get(f"/stores/{a}/settlement/statements/{w['sb']}{suffix}").status_code == 404
    assert client.get(f"/stores/{b}/settlement").status_code == 403
    assert client.get(f"/stores/{b}/settlement/statements/{w['sb']}").status_code == 403


def test_the_planners_page_is_for_planners_only(app, w):
    for email in ("staff@a.example.com", "manager@a.example.com", "partner@rokid.example.com"):
        client = app.test_client()
        sign_in(client, email)
        assert client.get("/settlement").status_code == 403, email
        assert client.get(f"/settlement/stores/{w['a'].id}/payments").status_code == 403, email
        assert client.get("/settlement/brands/csv").status_code == 403, email
    client = app.test_client()
    sign_in(client, "planner@example.com")
    page = client.get("/settlement").get_data(as_text=True)
    assert "S0001" in page and "ROKID" in page  # A's balance, B's brand sales
    brands = client.get("/settlement/brands/csv?month=2026-10").get_data(as_text=True)
    assert "ROKID" in brands and "3000.00" in brands


def test_payment_form_needs_csrf_and_acts_once(client, w, session):
    a = w["a"].id
    sign_in(client, "planner@example.com")
    data = {"amount": "250", "received_on": "2026-11-03", "reference": "BANK-9"}
    assert client.post(f"/settlement/stores/{a}/payments", data=data).status_code == 400  # no CSRF token
    html = client.get(f"/settlement/stores/{a}/payments").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    form = {**data, "csrf_token": token, "idempotency_key": key}
    assert client.post(f"/settlement/stores/{a}/payments", data=form).status_code in (302, 303)
    assert client.post(f"/settlement/stores/{a}/payments", data=form).status_code in (302, 303)
    bad = client.post(f"/settlement/stores/{a}/payments", data={**form, "idempotency_key": "k2", "amount": "-5"})
    assert bad.status_code == 422
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Payment)).scalar_one() == 2  # the fixture's and this


def test_a_held_order_is_approved_from_the_planners_page_only_with_the_hold_acknowledged(client, w, session):
    held = order(session, w, quantities={"RK-CASE": 8})  # 8 x (199 x 0.65) = 1,034.80 > 500 - ... : held
    session.commit()
    sign_in(client, "planner@example.com")
    page = client.get("/settlement").get_data(as_text=True)
    assert held.reference in page and "credit limit" in page
    token = csrf_token(client, "/settlement")
    refused = client.post(f"/settlement/orders/{held.id}/approve", data={"csrf_token": token})
    assert refused.status_code == 422 and "acknowledge" in refused.get_data(as_text=True)
    assert client.post(f"/settlement/orders/{held.id}/approve",
                       data={"csrf_token": token, "acknowledge": "1"}).status_code in (302, 303)
    session.expire_all()
    assert session.get(ReplenishmentOrder, held.id).status == OrderStatus.approved


def test_agreement_form_makes_a_new_version(client, w, session):
    a = w["a"].id
    sign_in(client, "admin@example.com")
    token = csrf_token(client, f"/settlement/stores/{a}/agreement")
    response = client.post(f"/settlement/stores/{a}/agreement", data={
        "csrf_token": token, "valid_from": "2026-12-01", "model": "franchise", "status": "active",
        "wholesale_tier": "A", "credit_limit": "9000", "deposit": "0", "payment_terms_days": "45"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:400]
    backdated = client.post(f"/settlement/stores/{a}/agreement", data={
        "csrf_token": token, "valid_from": "2026-10-15", "model": "franchise", "status": "active",
        "wholesale_tier": "A", "payment_terms_days": "45"})
    assert backdated.status_code == 422
    session.expire_all()
    assert [v.version for v in agreements.history(session, store_id=a)] == [2, 1]


def test_a_hong_kong_manager_reads_the_statement_in_traditional_chinese(client, w):
    b = w["b"].id
    sign_in(client, "staff@b.example.com")  # zh_Hant
    page = client.get(f"/stores/{b}/settlement/statements/{w['sb']}").get_data(as_text=True)
    assert "結算單" in page and "門店分成" in page
    pdf = client.get(f"/stores/{b}/settlement/statements/{w['sb']}/pdf").data
    assert pdf.startswith(b"%PDF") and b"MSung-Light" in pdf
    body = client.get(f"/stores/{b}/settlement/statements/{w['sb']}/csv").get_data(as_text=True)
    assert "銷售" in body and "3000.00" in body and "750.00" in body  # the store's 25 %


def test_consignment_stock_value_by_store(session, w):
    rows, total = settlement.consignment_stock_value(session, today=date(2026, 11, 29))
    # Store B (consignment): SN-B2 on hand and SN-D3 in transit to it, at cost CNY 2,100 each; HKD 3,299 list.
    assert [(r.code, r.units, r.cost_cny, r.list_value, r.currency) for r in rows] == [
        ("S0002", 2, 4200, 6598, "HKD")]
    assert total == 4200


def test_planners_add_prices_and_the_order_is_priced_with_them(app, w, session):
    staff = app.test_client()
    sign_in(staff, "manager@a.example.com")
    assert staff.get("/settlement/prices").status_code == 403
    client = app.test_client()
    sign_in(client, "planner@example.com")
    token = csrf_token(client, "/settlement/prices")
    response = client.post("/settlement/prices", data={
        "csrf_token": token, "sku": "RK-CASE", "price_list": "B", "currency": "CNY", "amount": "50",
        "valid_from": "2026-01-01", "valid_to": "", "promotion": "1"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
    assert "50.00 CNY" in client.get("/settlement/prices").get_data(as_text=True)
    refused = client.post("/settlement/prices", data={"csrf_token": token, "sku": "RK-CASE", "price_list": "Z",
                                                      "currency": "CNY", "amount": "50", "valid_from": "2026-01-01"})
    assert refused.status_code == 422
    made = order(session, w, quantities={"RK-CASE": 2})
    from retail.models import OrderPricing
    assert session.get(OrderPricing, made.id).lines[0]["unit_price"] == "50.00"


def test_agreement_form_takes_brands_terms_and_an_end(client, w, session):
    a = w["a"].id
    sign_in(client, "planner@example.com")
    page = f"/settlement/stores/{a}/agreement"
    token = csrf_token(client, page)
    base = {"csrf_token": token, "valid_from": "2026-12-01", "model": "franchise", "status": "active",
            "wholesale_tier": "B", "payment_terms_days": "30"}
    assert client.post(page, data={**base, "authorised_brands": "ROKID, NOPE"}).status_code == 422
    assert client.post(page, data={**base, "brand_terms": "ROKID"}).status_code == 422
    made = client.post(page, data={**base, "authorised_brands": "rokid", "brand_terms": "ROKID=a",
                                   "ends_on": "2027-06-30"})
    assert made.status_code in (302, 303), made.get_data(as_text=True)[:300]
    session.expire_all()
    latest = agreements.history(session, store_id=a)[0]
    assert (latest.authorised_brands, latest.brand_terms, str(latest.ends_on)) == (
        [w["brand"].id], {str(w["brand"].id): {"tier": "A"}}, "2027-06-30")
    shown = client.get(page).get_data(as_text=True)
    assert 'value="ROKID"' in shown and 'value="ROKID=A"' in shown


def test_the_store_page_names_brands_by_code(client, w, session):
    agreements.create_version(session, w["planner"], store_id=w["b"].id, valid_from=date(2026, 11, 1),
                              model="consignment", revenue_share="0.25", authorised_brands=[w["brand"].id],
                              brand_terms={str(w["brand"].id): {"revenue_share": "0.30"}})
    sign_in(client, "planner@example.com")
    page = client.get(f"/stores/{w['b'].id}/settlement").get_data(as_text=True)
    assert "ROKID\n    30.00 %" in page and "Authorised brands: ROKID" in page
