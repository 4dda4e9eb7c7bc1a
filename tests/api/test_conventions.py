"""The conventions every operation shares: keys, tenants, scopes, problems, rate limits, retries."""
from __future__ import annotations

import pytest

from retail import create_app
from retail.config import Settings
from tests.api.factories import api_world, bearer


def test_me_names_the_keys_tenant_and_scopes(client, world):
    brand = client.get("/api/v1/me", headers=bearer(world["keys"]["brand"]))
    assert brand.status_code == 200
    assert brand.json["tenant"] == "brand" and brand.json["brand_id"] == world["brand"].id
    assert brand.json["scopes"] == ["read", "write"]
    store = client.get("/api/v1/me", headers=bearer(world["keys"]["store_read"]))
    assert store.json["tenant"] == "store" and store.json["store_id"] == world["a"].id
    assert store.json["scopes"] == ["read"] and store.json["language"] == "zh_Hans"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer rtl_abc_def", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500])
def test_missing_malformed_or_unknown_keys_get_401_problems(client, world, header):
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "unauthenticated" and response.json["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_and_a_tampered_secret_get_401(client, world):
    assert client.get("/api/v1/me", headers=bearer(world["keys"]["revoked"])).status_code == 401
    good = world["keys"]["brand"]
    tampered = good[:-1] + ("a" if good[-1] != "a" else "b")
    assert client.get("/api/v1/me", headers=bearer(tampered)).status_code == 401


def test_keys_are_stored_hashed(db, world):
    for name, row in world["key_rows"].items():
        secret = world["keys"][name]
        assert secret.split("_", 2)[2] not in (row.secret_hash, row.prefix)
        assert len(row.secret_hash) == 64


def test_problems_are_in_the_keys_language(client, world):
    nobody = client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert nobody.json["detail"].startswith("Send a valid API key")  # no key: English
    bad = {"sales": []}
    hong_kong = client.post("/api/v1/store/sales", json=bad, headers=bearer(world["keys"]["other_store"]))
    shanghai = client.post("/api/v1/store/sales", json=bad, headers=bearer(world["keys"]["store"]))
    brand = client.get("/api/v1/brand/products?limit=0", headers=bearer(world["keys"]["brand"]))
    assert hong_kong.status_code == shanghai.status_code == brand.status_code == 422
    assert hong_kong.json["code"] == shanghai.json["code"] == "invalid_request"
    assert "請求不符合" in hong_kong.json["detail"]   # a Hong Kong store's key: Traditional Chinese
    assert "请求不符合" in shanghai.json["detail"]    # a Shanghai store's key: Simplified Chinese
    assert "does not match" in brand.json["detail"]  # a brand key: English
    assert hong_kong.json["errors"] and hong_kong.json["errors"][0]["field"]


def test_a_method_the_path_does_not_have_is_405_with_allow(client, world):
    response = client.post("/api/v1/me", headers=bearer(world["keys"]["other_store"]))
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_unknown_paths_under_the_api_are_problems_and_web_pages_stay_html(client, world):
    response = client.get("/api/v1/no-such-thing", headers=bearer(world["keys"]["brand"]))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert client.get("/no-such-page").mimetype == "text/html"


def test_the_openapi_document_is_3_1_with_bearer_security(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/me" in document["paths"]
    assert client.get("/api/v1/docs/swagger").status_code == 200


def test_rate_limit_per_key_with_headers_and_retry_after(tmp_path, sqlite_template):
    import shutil

    target = tmp_path / "limited.db"
    shutil.copyfile(sqlite_template, target)
    app = create_app(Settings(env="test", database_url=f"sqlite:///{target}", api_rate_limit="3/minute"))
    from retail.db import new_session

    session = new_session(app.extensions["engine"])
    world = api_world(session)
    session.close()
    client = app.test_client()
    answers = [client.get("/api/v1/me", headers=bearer(world["keys"]["brand"])) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[3].mimetype == "application/problem+json" and int(answers[3].headers["Retry-After"]) >= 1
    # another key has its own budget
    assert client.get("/api/v1/me", headers=bearer(world["keys"]["other_brand"])).status_code == 200
    app.extensions["engine"].dispose()


def test_csv_cells_never_start_a_formula(client, world, db):
    """A product named like a spreadsheet formula is exported with a leading quote: opened in a spreadsheet
    it is text, not a formula that runs."""
    from retail.models import Product

    product = db.get(Product, world["case"].id)
    product.model, product.variant = '=HYPERLINK("http://evil.example","x")', "@SUM(A1:A9)"
    db.commit()
    response = client.get("/api/v1/brand/products?format=csv", headers=bearer(world["keys"]["brand"]))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    case = next(row for row in rows if row["sku"] == "RK-CASE")
    assert case["model"] == '\'=HYPERLINK("http://evil.example","x")' and case["variant"] == "'@SUM(A1:A9)"
    assert not [value for row in rows for value in row.values() if value[:1] in ("=", "+", "-", "@")]
    as_json = client.get("/api/v1/brand/products", headers=bearer(world["keys"]["brand"])).json["data"]
    assert next(p for p in as_json if p["sku"] == "RK-CASE")["model"].startswith("=")  # JSON keeps the value
