"""Tenancy, generated from the OpenAPI document over every operation (a new operation is covered the
moment it is documented):

- a revoked key gets 401 everywhere; a read key gets 403 on every write; a key of the other kind (a store
  key on a brand operation and the reverse) gets 403;
- brand A's objects named in the path by brand B's key, and store A's by store B's key, are 404 (never 403,
  which would confirm they exist), and nothing in the database changes;
- no list of brand B or store B shows brand A's or store A's objects.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from retail.models import ApiResponse, AuditLog, Location, Movement, Product, Shipment, StockBalance
from tests.api.factories import bearer

WRITES = {"post", "put", "patch", "delete"}


def operations(client) -> list[tuple[str, str, dict]]:
    document = client.get("/api/v1/openapi.json").json
    found = [(method, path, operation) for path, item in document["paths"].items()
             for method, operation in item.items() if method in WRITES | {"get"}]
    assert len(found) >= 2
    return found


def _kind(path: str) -> str:
    return "store" if path.startswith("/api/v1/store") else "brand" if path.startswith("/api/v1/brand") else "any"


def _fill(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), "1")), path)


def _snapshot(db) -> tuple:
    db.expire_all()
    return tuple(db.execute(select(func.count()).select_from(model)).scalar_one()
                 for model in (Movement, Shipment, AuditLog, ApiResponse, Product)) + (
        db.execute(select(func.coalesce(func.sum(StockBalance.on_hand + StockBalance.in_transit), 0))).scalar_one(),)


def test_a_revoked_key_gets_401_on_every_operation(client, world):
    for method, path, _ in operations(client):
        response = client.open(_fill(path, {}), method=method.upper(), headers=bearer(world["keys"]["revoked"]),
                               json={} if method in WRITES else None)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.mimetype == "application/problem+json"


def test_a_read_key_cannot_write_anything(client, world, db):
    before = _snapshot(db)
    for method, path, _ in operations(client):
        if method not in WRITES:
            continue
        key = world["keys"]["store_read" if _kind(path) == "store" else "brand_read"]
        response = client.open(_fill(path, {}), method=method.upper(), headers=bearer(key), json={})
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json["code"] == "read_only_key"
    assert _snapshot(db) == before


def test_a_key_of_the_other_kind_gets_403(client, world, db):
    before = _snapshot(db)
    for method, path, _ in operations(client):
        kind = _kind(path)
        if kind == "any":
            continue
        key = world["keys"]["brand" if kind == "store" else "store"]
        response = client.open(_fill(path, {}), method=method.upper(), headers=bearer(key),
                               json={} if method in WRITES else None)
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json["code"] == "wrong_tenant"
    assert _snapshot(db) == before


# ---------------------------------------------------------------- another tenant's objects

# A valid body for every write that names an object in its path: the refusal must come from the tenant,
# not from the schema. A new such operation without an entry here fails the test (add one).
BODIES = {
    ("patch", "/api/v1/brand/products/{sku}"): {"model": "Renamed by another brand"},
    ("post", "/api/v1/brand/purchase-orders/{order_id}/answers"): {
        "lines": [{"sku": "RK-MAX2-BLK", "confirmed_quantity": 1}]},
    ("post", "/api/v1/brand/purchase-orders/{order_id}/shipment-notices"): {
        "reference": "ASN-INTRUDER", "lines": [{"sku": "RK-CASE", "quantity": 1}]},
    ("post", "/api/v1/store/deliveries/{delivery_id}/receipt"): {"lines": [{"sku": "RK-CASE", "quantity": 4}]},
    ("post", "/api/v1/store/customer-orders/{customer_order_id}/sourcing"): None,  # no body
    ("post", "/api/v1/store/customer-orders/{customer_order_id}/shipment"): {"serials": ["SN-A2"]},
    ("post", "/api/v1/store/customer-orders/{customer_order_id}/arrival"): {"serials": ["SN-A2"]},
    ("post", "/api/v1/store/customer-orders/{customer_order_id}/hand-over"): None,  # no body
    ("post", "/api/v1/store/customer-orders/{customer_order_id}/cancellation"): {"reason": "Not yours"},
}
# What only tenant A has: no list of tenant B may show one of them.
BRAND_A_MARKERS = ("RK-", "Rokid")
STORE_A_MARKERS = ("SN-A1", "SN-A2", "R-CT-A", "SH-CT-A", "S0003", "T-CT-A")  # sold and held serial, receipt,
# delivery, transfer, customer order (its customer's ticket)


@pytest.fixture
def owned(client, world, db):
    """Objects of brand A (Rokid) and store A (S0001), named by the ids the API gives them."""
    from tests.api.test_brand import NOTICE, confirm_all, make_order
    from tests.committing import inventory, shipments

    order = make_order(db, world)[world["brand"].id]
    confirm_all(client, world, order)
    notice = client.post(f"/api/v1/brand/purchase-orders/{order.id}/shipment-notices", json=NOTICE,
                         headers=bearer(world["keys"]["brand"]))
    assert notice.status_code == 201, notice.json
    sale = client.post("/api/v1/store/sales", json={"sales": [{"receipt": "R-CT-A", "serials": ["SN-A1"]}]},
                       headers=bearer(world["keys"]["store"]))
    assert sale.status_code == 201, sale.json
    delivery = shipments.ship(db, from_location_id=world["dc"].id, to_location_id=world["a"].id,
                              reference="SH-CT-A", lines=[shipments.Line("RK-CASE", 4)])
    third = Location(code="S0003", name="深圳店", city="Shenzhen", province="Guangdong", city_tier=1,
                     partnership="franchise", dc_id=world["dc"].id)
    db.add(third)
    db.commit()
    inventory.receive_purchase(db, location_id=third.id, sku="RK-CASE", quantity=5)
    transfer = client.post("/api/v1/store/transfers", json={"from_store_code": "S0003", "sku": "RK-CASE",
                                                            "quantity": 1}, headers=bearer(world["keys"]["store"]))
    assert transfer.status_code == 201, transfer.json
    statement_id = _statement_of_store_a(db, world)
    # 3 glasses for a customer: 2 on A's shelf after the sale, none to spare in Shanghai or at the DC (it waits)
    customer_order = client.post("/api/v1/store/customer-orders", json={
        "sku": "RK-MAX2-BLK", "quantity": 3, "promised_date": (date.today() + timedelta(days=7)).isoformat(),
        "customer_ref": "T-CT-A", "contact": "138 0000 0000"}, headers=bearer(world["keys"]["store"]))
    assert customer_order.status_code == 201, customer_order.json
    return {"sku": "RK-MAX2-BLK", "order_id": order.id, "notice_id": notice.json["id"],
            "sale_id": sale.json["data"][0]["sale"]["id"], "delivery_id": delivery.id,
            "transfer_id": transfer.json["id"], "statement_id": statement_id,
            "customer_order_id": customer_order.json["id"]}


def _statement_of_store_a(db, world) -> int:
    """Store A's settlement statement of October 2026 (issue 15: /api/v1/store/statements/{statement_id})."""
    from datetime import UTC, date, datetime

    from retail.models import Statement
    from retail.services import agreements, settlement

    agreements.create_version(db, world["admin"], store_id=world["a"].id, valid_from=date(2026, 1, 1),
                              model="franchise", wholesale_tier="B")
    settlement.run_month(db, month=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC))
    return db.execute(select(Statement.id).where(Statement.location_id == world["a"].id)).scalar_one()


def test_another_tenants_objects_are_404_and_stay_as_they_were(client, world, db, owned):
    before = _snapshot(db)
    tried = []
    for method, path, _ in operations(client):
        names = re.findall(r"\{(\w+)\}", path)
        if not names:
            continue
        missing = [n for n in names if n not in owned]
        assert missing == [], f"{method} {path}: no object of tenant A for {missing} (add it to `owned`)"
        kind = _kind(path)
        key = world["keys"]["other_brand" if kind == "brand" else "other_store"]
        headers = bearer(key, **({"If-Match": '"1"'} if method == "patch" else {}))
        body = None
        if method in WRITES:
            assert (method, path) in BODIES, f"{method} {path}: add a valid body to BODIES"
            body = BODIES[(method, path)]
        response = client.open(_fill(path, owned), method=method.upper(), headers=headers, json=body)
        assert response.status_code == 404, (method, path, response.status_code, response.json)
        assert response.mimetype == "application/problem+json"
        tried.append((method, path))
    assert len(tried) >= 8
    assert _snapshot(db) == before


def test_no_list_of_another_tenant_shows_this_tenants_objects(client, world, owned):
    lists = 0
    seen_by_owner = ""
    for method, path, operation in operations(client):
        if method != "get" or "{" in path or _kind(path) == "any":
            continue
        kind = _kind(path)
        key, markers = ((world["keys"]["other_brand"], BRAND_A_MARKERS) if kind == "brand"
                        else (world["keys"]["other_store"], STORE_A_MARKERS))
        params = {"limit": 500}
        names = {p["name"] for p in operation.get("parameters", [])}
        if {"start", "end"} <= names:
            params.update(start="2026-01-01", end="2026-12-31")
        for extra in ({}, {"format": "csv"}):
            response = client.get(path, query_string={**params, **extra}, headers=bearer(key))
            assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])
            text = response.get_data(as_text=True)
            assert not [m for m in markers if m in text], (path, extra, [m for m in markers if m in text])
        owner = world["keys"]["brand" if kind == "brand" else "store"]
        seen_by_owner += client.get(path, query_string=params, headers=bearer(owner)).get_data(as_text=True)
        lists += 1
    assert lists >= 8
    # the markers are there to be found: each shows in some list of its own tenant
    assert [m for m in BRAND_A_MARKERS + STORE_A_MARKERS if m not in seen_by_owner] == []
