"""The store's agreement and statements through the partner API (issue 15), on SQLite and PostgreSQL: a store
key reads its own (another store's statement is 404), a brand key is 403, the answers match the document."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from retail import create_app
from retail.config import Settings
from retail.db import new_session
from retail.models import Statement
from retail.services import agreements, settlement
from tests.api.factories import api_world, bearer
from tests.committing import inventory
from tests.settlement.helpers import at


@pytest.fixture
def app(database_url):
    app = create_app(Settings(env="test", database_url=database_url, redis_url=None))
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture
def world(app):
    session = new_session(app.extensions["engine"])
    try:
        w = api_world(session)
        admin = w["admin"]
        agreements.create_version(session, admin, store_id=w["a"].id, valid_from=date(2026, 1, 1), model="franchise",
                                  wholesale_tier="B", credit_limit="8000")
        agreements.create_version(session, admin, store_id=w["a"].id, valid_from=date(2026, 11, 1),
                                  model="franchise", wholesale_tier="A", credit_limit="9000")
        agreements.create_version(session, admin, store_id=w["b"].id, valid_from=date(2026, 1, 1),
                                  model="consignment", revenue_share="0.25")
        inventory.record_sale(session, store_id=w["b"].id, sku="RK-CASE", unit_price="200", at=at("2026-10-08"))
        settlement.record_payment(session, admin, store_id=w["a"].id, amount="100", received_on=date(2026, 10, 9),
                                  reference="BANK-1")
        settlement.run_month(session, month=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC))
        w["statements"] = {k: session.execute(select(Statement.id).where(Statement.location_id == w[k].id))
                           .scalar_one() for k in ("a", "b")}
        yield w
    finally:
        session.close()


def test_a_store_key_reads_its_agreement_and_statements(app, world):
    client = app.test_client()
    key = bearer(world["keys"]["store_read"])
    agreement = client.get("/api/v1/store/agreement", headers=key)
    assert agreement.status_code == 200, agreement.json
    body = agreement.json
    assert body["in_force"]["version"] == 2 and body["in_force"]["wholesale_tier"] == "A"
    assert [v["version"] for v in body["versions"]] == [2, 1]
    assert body["open_balance"] == {"amount": "-100.00", "currency": "CNY"}
    listed = client.get("/api/v1/store/statements", headers=key).json
    assert [s["number"] for s in listed["data"]] == ["ST-S0001-202610-1"]
    one = client.get(f"/api/v1/store/statements/{world['statements']['a']}", headers=key).json
    assert one["totals"]["paid"] == "100.00" and one["lines"][0]["kind"] == "payment"
    csv = client.get("/api/v1/store/statements?format=csv", headers=key)
    assert csv.mimetype == "text/csv" and "ST-S0001-202610-1" in csv.get_data(as_text=True)


def test_another_stores_statement_is_404_and_a_brand_key_is_403(app, world):
    client = app.test_client()
    other = client.get(f"/api/v1/store/statements/{world['statements']['b']}", headers=bearer(world["keys"]["store"]))
    assert other.status_code == 404 and other.mimetype == "application/problem+json"
    own = client.get(f"/api/v1/store/statements/{world['statements']['b']}",
                     headers=bearer(world["keys"]["other_store"]))
    assert own.status_code == 200 and own.json["totals"]["store_share"] == "50.00"
    for path in ("/api/v1/store/agreement", "/api/v1/store/statements",
                 f"/api/v1/store/statements/{world['statements']['a']}"):
        response = client.get(path, headers=bearer(world["keys"]["brand"]))
        assert response.status_code == 403 and response.json["code"] == "wrong_tenant", path


def test_the_operations_are_documented(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    for path in ("/api/v1/store/agreement", "/api/v1/store/statements", "/api/v1/store/statements/{statement_id}"):
        assert "get" in document["paths"][path], path
    assert [t["name"] for t in document.get("tags", [])].count("Store") == 1
