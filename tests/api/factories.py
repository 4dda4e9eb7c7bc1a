"""A world for the partner API: two brands, two stores, stock, and keys of every kind.

`api_world(session)` returns the objects and `keys`, a dict of bearer tokens:
brand (Rokid, read+write), brand_read (Rokid, read only), other_brand (Huawei, read+write),
store (S0001, read+write), store_read (S0001, read only), other_store (S0002, read+write), revoked.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import jsonschema_rs
from sqlmodel import Session

from retail.models import Brand, Product, User
from retail.services import api_keys
from tests.committing import inventory
from tests.factories import small_world


def api_world(session: Session) -> dict:
    w = small_world(session)
    huawei = Brand(code="HW", name="Huawei", name_zh="华为", lead_time_days=21, moq=5)
    session.add(huawei)
    session.flush()
    eyewear = Product(sku="HW-EYE3-BLK", brand_id=huawei.id, model="Huawei Eyewear 3", variant="black",
                      category="audio", barcode="6940000000011", list_price_cny=Decimal("1699"),
                      list_price_hkd=Decimal("1899"), wholesale_cost=Decimal("1100"), serialised=True,
                      launch_date=date(2025, 6, 1))
    admin = User(email="admin@example.com", name="Admin", role="admin")
    session.add_all([eyewear, admin])
    session.commit()
    w.update(other_brand=huawei, eyewear=eyewear, admin=admin)
    for store, serials in ((w["a"], ["SN-A1", "SN-A2", "SN-A3"]), (w["b"], ["SN-B1", "SN-B2"])):
        inventory.receive_purchase(session, location_id=store.id, sku="RK-MAX2-BLK", quantity=len(serials),
                                   serials=serials)
        inventory.receive_purchase(session, location_id=store.id, sku="RK-CASE", quantity=20)
    inventory.receive_purchase(session, location_id=w["a"].id, sku="HW-EYE3-BLK", quantity=1, serials=["SN-HW1"])
    inventory.receive_purchase(session, location_id=w["dc"].id, sku="RK-CASE", quantity=100)

    def key(name, scopes, **tenant):
        return api_keys.create_key(session, admin, name=name, scopes=scopes, **tenant)

    keys = {
        "brand": key("Rokid ERP", "read,write", brand_code="ROKID"),
        "brand_read": key("Rokid BI", "read", brand_code="ROKID"),
        "other_brand": key("Huawei ERP", "read,write", brand_code="HW"),
        "store": key("S0001 POS", "read,write", store_code="S0001"),
        "store_read": key("S0001 BI", "read", store_code="S0001"),
        "other_store": key("S0002 POS", "read,write", store_code="S0002"),
        "revoked": key("Old Rokid key", "read,write", brand_code="ROKID"),
    }
    api_keys.revoke_key(session, admin, key_id=keys["revoked"].key.id)
    w["key_rows"] = {name: new.key for name, new in keys.items()}
    w["keys"] = {name: new.secret for name, new in keys.items()}
    return w


def bearer(token: str, **headers) -> dict:
    return {"Authorization": f"Bearer {token}", **headers}


def conforms(client, method: str, path: str, response):
    """Check a JSON answer against the OpenAPI document (what schemathesis checks, here also with the objects
    the tests make, which the fuzzer cannot: orders, notices, sales, deliveries, plans). `path` is the full
    request path. jsonschema_rs comes with schemathesis."""
    if response.mimetype not in ("application/json", "application/problem+json"):
        return response
    document = client.application.api_doc
    for template, operations in document["paths"].items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method in operations:
            documented = operations[method]["responses"][str(response.status_code)]
            schema = documented["content"][response.mimetype]["schema"]
            jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]},
                                               validate_formats=True).validate(response.json)
            return response
    raise AssertionError(f"{method} {path} is not documented")
