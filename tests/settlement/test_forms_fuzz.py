"""The planners' settlement forms (agreement version, payment, price, approval), fuzzed: whatever is posted, the
answer is below 500, and a refused post (4xx) changes nothing. SQLite (the rules are the services')."""
from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from retail import create_app
from retail.config import Settings
from retail.models import Agreement, AuditLog, Payment, PriceEntry, ReplenishmentOrder
from tests.conftest import _fresh_sqlite_url
from tests.web.factories import shop_world, sign_in

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
ODD = ["", " ", "0", "-1", "1.5", "1e1000000", "NaN", "9" * 25, "１２", "2026-02-30", "2026-12-01", "2026-13-01",
       "franchise", "consignment", "active", "suspended", "A", "Z", "CNY", "HKD", "USD", "RK-CASE", "0.2", "1.00001",
       "ROKID", "ROKID=A", "ROKID=0.5", "HW=B, ROKID", "<script>", "=cmd|' /C calc'!A0", "\x00", "%(sku)s", "2147483648"]
FORMS = {
    "agreement": ["valid_from", "model", "status", "wholesale_tier", "revenue_share", "shrinkage_rate", "deposit",
                  "credit_limit", "payment_terms_days", "note", "ends_on", "authorised_brands", "brand_terms"],
    "payments": ["amount", "received_on", "reference", "note"],
    "prices": ["sku", "price_list", "currency", "amount", "valid_from", "valid_to", "promotion"],
}


@pytest.fixture
def database_url(sqlite_template, tmp_path) -> str:
    return _fresh_sqlite_url(sqlite_template, tmp_path)


@pytest.fixture
def app(database_url):
    app = create_app(Settings(env="test", database_url=database_url, redis_url=None))
    yield app
    app.extensions["engine"].dispose()


def _counts(session) -> tuple:
    session.expire_all()
    return tuple(session.execute(select(func.count()).select_from(m)).scalar_one()
                 for m in (Agreement, Payment, PriceEntry, AuditLog))


@pytest.mark.parametrize("form", sorted(FORMS))
def test_settlement_forms_hold_under_any_input(app, session, form):
    world = shop_world(session)
    client = app.test_client()
    sign_in(client, "planner@example.com")
    path = {"agreement": f"/settlement/stores/{world['a'].id}/agreement",
            "payments": f"/settlement/stores/{world['b'].id}/payments", "prices": "/settlement/prices"}[form]
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)
    values = st.one_of(st.sampled_from(ODD), st.text(max_size=40))

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.fixed_dictionaries({name: values for name in FORMS[form]}))
    def post(data):
        before = _counts(session)
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code < 500, (data, response.status_code)
        if response.status_code >= 400:
            assert _counts(session) == before, data

    post()


def test_approving_any_order_id_is_safe(app, session):
    shop_world(session)
    client = app.test_client()
    sign_in(client, "planner@example.com")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/settlement").get_data(as_text=True)).group(1)
    for order_id in ("1", "99999", "2147483647", "2147483648", "0", "-1", "x"):
        response = client.post(f"/settlement/orders/{order_id}/approve", data={"csrf_token": token, "acknowledge": "1"})
        assert response.status_code in (404, 422), (order_id, response.status_code)
    assert session.execute(select(func.count()).select_from(ReplenishmentOrder)).scalar_one() == 0
