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

from sqlalchemy import func, select

from retail.models import ApiResponse, AuditLog, Movement, Product, Shipment, StockBalance
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
