"""Customer orders through the partner API (/api/v1/store/customer-orders): a store's POS places an order, the
origin store ships it with its own key, the ordering store receives it and hands it over as a sale; cancel;
retries; another store's order; read keys; bad input in the key's language. Both backends (the `app` fixture).

The world: `api_world` (store A = S0001 Shanghai, B = S0002 Hong Kong), with A's three glasses written off (so
it has none on its shelf) and a store C (S0003, Shanghai) holding three, with its own key."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from retail.models import (
    ApiResponse,
    AuditLog,
    CustomerOrder,
    CustomerOrderEvent,
    Location,
    Movement,
    SerialUnit,
    StockBalance,
    TransferRequest,
    User,
)
from retail.services import api_keys
from tests.api.factories import bearer
from tests.api.factories import conforms as check_document
from tests.committing import inventory

BASE = "/api/v1/store/customer-orders"
SOON = (date.today() + timedelta(days=3)).isoformat()


@pytest.fixture
def shop(world, db):
    """`world` with store C (S0003, Shanghai) holding SN-C1..3 and a key of its own; A has no glasses left."""
    c = Location(code="S0003", name="上海静安店", city="Shanghai", province="Shanghai", city_tier=1,
                 partnership="franchise", dc_id=world["dc"].id)
    db.add(c)
    db.commit()
    inventory.receive_purchase(db, location_id=c.id, sku="RK-MAX2-BLK", quantity=3,
                               serials=["SN-C1", "SN-C2", "SN-C3"], reference="PO-C")
    inventory.write_off(db, location_id=world["a"].id, sku="RK-MAX2-BLK", quantity=3,
                        serials=["SN-A1", "SN-A2", "SN-A3"], reason="damaged")
    admin = db.get(User, world["admin"].id)
    world["keys"]["origin"] = api_keys.create_key(db, admin, name="S0003 POS", scopes="read,write",
                                                  store_code="S0003").secret
    world["c"] = c
    return world


def call(client, world, method, path, body=None, key="store", query=None, **headers):
    response = client.open(BASE + path, method=method.upper(), json=body, query_string=query,
                           headers=bearer(world["keys"][key], **headers))
    return check_document(client, method, BASE + path.split("?")[0], response)


def order_body(**changes) -> dict:
    body = {"sku": "RK-MAX2-BLK", "quantity": 1, "deposit": "500", "promised_date": SOON,
            "customer_ref": "T-1001", "contact": "138 0000 0000"}
    body.update(changes)
    return body


def place(client, world, **changes):
    response = call(client, world, "post", "", order_body(**changes))
    assert response.status_code == 201, response.json
    return response.json


def balance(db, location, product) -> tuple[int, int, int]:
    db.rollback()  # a new snapshot
    row = db.get(StockBalance, (location.id, product.id))
    return (row.on_hand, row.reserved, row.in_transit) if row else (0, 0, 0)


def count(db, model, *where) -> int:
    db.rollback()
    return db.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def writes(db) -> tuple:
    return tuple(count(db, model) for model in (CustomerOrder, CustomerOrderEvent, Movement, AuditLog,
                                                TransferRequest, ApiResponse))


# ---------------------------------------------------------------- the whole way

def test_place_source_ship_receive_and_hand_over_through_the_api(client, shop, db):
    a, c, glasses = shop["a"], shop["c"], shop["glasses"]
    order = place(client, shop)
    oid = order["id"]
    assert (order["reference"], order["state"], order["role"]) == (f"CO-{oid}", "sourced", "ordering")
    assert order["source"] == {"kind": "store", "location_code": "S0003"}
    assert order["price"] == {"amount": "2999.00", "currency": "CNY"}
    assert order["deposit"] == {"amount": "500.00", "currency": "CNY"}
    assert order["balance_due"] == {"amount": "2499.00", "currency": "CNY"}
    assert order["placed_at"].endswith("Z") and order["promised_date"] == SOON
    assert (order["customer_ref"], order["contact"]) == ("T-1001", "138 0000 0000")
    assert balance(db, c, glasses) == (3, 1, 0)  # held at the origin

    # the origin sees it in its list of what to ship, without the customer or the money
    to_ship = call(client, shop, "get", "", key="origin", query={"role": "origin", "state": "sourced"})
    assert [o["id"] for o in to_ship.json["data"]] == [oid]
    seen = to_ship.json["data"][0]
    assert seen["role"] == "origin" and seen["customer_ref"] is None and seen["price"] is None
    assert "contact" not in seen and "address" not in seen
    assert call(client, shop, "get", "", key="origin").json["data"] == []  # C took no order itself
    detail = call(client, shop, "get", f"/{oid}", key="origin").json
    assert detail["contact"] is None and detail["customer_ref"] is None and detail["deposit"] is None
    assert detail["serials_in_stock"] == ["SN-C1", "SN-C2", "SN-C3"]

    # the ordering store may not ship it
    refused = call(client, shop, "post", f"/{oid}/shipment", {"serials": ["SN-C2"]})
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"

    shipped = call(client, shop, "post", f"/{oid}/shipment", {"serials": ["SN-C2"]}, key="origin")
    assert shipped.status_code == 200 and shipped.json["state"] == "shipped", shipped.json
    assert balance(db, c, glasses) == (2, 0, 0) and balance(db, a, glasses) == (0, 0, 1)
    assert call(client, shop, "get", f"/{oid}").json["expected_serials"] == ["SN-C2"]

    arrived = call(client, shop, "post", f"/{oid}/arrival", {"serials": ["SN-C2"]})
    assert arrived.status_code == 200 and arrived.json["state"] == "arrived", arrived.json
    assert arrived.json["serials"] == ["SN-C2"]
    assert balance(db, a, glasses) == (1, 1, 0)  # held for the customer

    handed = call(client, shop, "post", f"/{oid}/hand-over")
    assert handed.status_code == 200, handed.json
    body = handed.json
    assert body["state"] == "handed_over" and body["contact"] is None and body["address"] is None
    assert body["customer_ref"] == "T-1001"
    assert [e["state"] for e in body["history"]] == ["placed", "sourced", "shipped", "arrived", "handed_over"]
    assert all(e["at"].endswith("Z") for e in body["history"])
    assert balance(db, a, glasses) == (0, 0, 0) and balance(db, c, glasses) == (2, 0, 0)
    sale = db.get(Movement, body["sale_id"])
    assert (sale.kind, sale.quantity, sale.unit_price, sale.currency, sale.reference, sale.location_id) == (
        "sale", -1, Decimal("2999.00"), "CNY", f"CO-{oid}", a.id)
    assert db.get(SerialUnit, "SN-C2").state == "sold"
    row = db.get(CustomerOrder, oid)
    assert (row.contact, row.address) == (None, None)
    # the sale is one of the store's sales through the API too
    assert client.get(f"/api/v1/store/sales/{sale.id}", headers=bearer(shop["keys"]["store"])).status_code == 200
    # and the list of the ordering store shows it, without contact or address
    listed = call(client, shop, "get", "", query={"state": "handed_over"}).json["data"]
    assert [o["id"] for o in listed] == [oid] and "contact" not in listed[0]


def test_an_order_no_source_can_spare_waits_placed_and_sourcing_is_refused_until_stock_comes(client, shop, db):
    order = place(client, shop, sku="HW-EYE3-BLK", quantity=2)  # nobody in Shanghai, not the DC
    assert order["state"] == "placed" and order["source"] is None
    refused = call(client, shop, "post", f"/{order['id']}/sourcing")
    assert refused.status_code == 422 and refused.json["code"] == "customer_order_no_source"
    inventory.receive_purchase(db, location_id=shop["dc"].id, sku="HW-EYE3-BLK", quantity=2,
                               serials=["SN-HW8", "SN-HW9"])
    sourced = call(client, shop, "post", f"/{order['id']}/sourcing")
    assert sourced.status_code == 200 and sourced.json["source"] == {"kind": "dc", "location_code": "DC-SH"}
    before = writes(db)
    again = call(client, shop, "post", f"/{order['id']}/sourcing")  # a repeated transition: the order as it is
    assert again.status_code == 200 and again.json["state"] == "sourced" and writes(db) == before


def test_cancellation_gives_the_hold_back_refunds_and_forgets_the_contact(client, shop, db):
    c, glasses = shop["c"], shop["glasses"]
    order = place(client, shop, fulfilment="delivery", address="上海市徐汇区某路 1 号")
    assert order["address"] == "上海市徐汇区某路 1 号"
    assert balance(db, c, glasses) == (3, 1, 0)
    cancelled = call(client, shop, "post", f"/{order['id']}/cancellation", {"reason": "客户改主意"})
    assert cancelled.status_code == 200, cancelled.json
    body = cancelled.json
    assert body["state"] == "cancelled" and body["refund"] == {"amount": "500.00", "currency": "CNY"}
    assert (body["contact"], body["address"], body["cancel_reason"]) == (None, None, "客户改主意")
    assert balance(db, c, glasses) == (3, 0, 0)
    assert db.get(TransferRequest, body["transfer_id"]).status == "cancelled"
    before = writes(db)
    again = call(client, shop, "post", f"/{order['id']}/cancellation", {"reason": "again"})
    assert again.status_code == 200 and again.json["state"] == "cancelled" and writes(db) == before
    closed = call(client, shop, "post", f"/{order['id']}/hand-over")
    assert closed.status_code == 409 and closed.json["code"] == "customer_order_closed"
    assert closed.mimetype == "application/problem+json" and "CO-" in closed.json["detail"]
    assert writes(db) == before
    # the origin no longer has it to ship
    assert call(client, shop, "get", "", key="origin", query={"role": "origin", "state": "sourced"}
                ).json["data"] == []


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_writes_once(client, shop, db):
    key = {"Idempotency-Key": "pos-co-0001"}
    first = call(client, shop, "post", "", order_body(), **key)
    assert first.status_code == 201
    before = writes(db)
    again = call(client, shop, "post", "", order_body(), **key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert writes(db) == before and count(db, CustomerOrder) == 1
    other = call(client, shop, "post", "", order_body(customer_ref="T-2"), **key)
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    # a transition, retried with its key
    oid = first.json["id"]
    ship_key = {"Idempotency-Key": "erp-ship-0001"}
    shipped = call(client, shop, "post", f"/{oid}/shipment", {"serials": ["SN-C1"]}, key="origin", **ship_key)
    assert shipped.status_code == 200
    before = writes(db)
    replay = call(client, shop, "post", f"/{oid}/shipment", {"serials": ["SN-C1"]}, key="origin", **ship_key)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_data() == shipped.get_data()
    assert writes(db) == before


def test_another_stores_order_is_404_and_unchanged(client, shop, db):
    order = place(client, shop)
    oid = order["id"]
    before = writes(db) + (balance(db, shop["c"], shop["glasses"]),)
    for method, path, body in (("get", f"/{oid}", None), ("post", f"/{oid}/sourcing", None),
                               ("post", f"/{oid}/shipment", {"serials": ["SN-C1"]}),
                               ("post", f"/{oid}/arrival", {"serials": ["SN-C1"]}),
                               ("post", f"/{oid}/hand-over", None),
                               ("post", f"/{oid}/cancellation", {"reason": "not mine"})):
        response = call(client, shop, method, path, body, key="other_store")
        assert response.status_code == 404, (path, response.json)
        assert response.mimetype == "application/problem+json"
    # the origin may read and ship it, but not act as the ordering store
    for path in (f"/{oid}/sourcing", f"/{oid}/hand-over", f"/{oid}/arrival"):
        assert call(client, shop, "post", path, {} if path.endswith("arrival") else None,
                    key="origin").status_code == 404, path
    assert call(client, shop, "post", f"/{oid}/cancellation", {}, key="origin").status_code == 404
    assert writes(db) + (balance(db, shop["c"], shop["glasses"]),) == before
    assert db.get(CustomerOrder, oid).state == "sourced"
    for role in ("ordering", "origin"):
        listed = call(client, shop, "get", "", key="other_store", query={"limit": 500, "role": role})
        assert listed.status_code == 200 and listed.json["data"] == []


def test_read_keys_and_brand_keys_are_refused_before_the_body(client, shop, db):
    before = writes(db)
    for path in ("", "/1/sourcing", "/1/shipment", "/1/arrival", "/1/hand-over", "/1/cancellation"):
        response = call(client, shop, "post", path, order_body() if not path else {}, key="store_read")
        assert response.status_code == 403 and response.json["code"] == "read_only_key", path
        brand = call(client, shop, "post", path, {"not": "valid"}, key="brand")
        assert brand.status_code == 403 and brand.json["code"] == "wrong_tenant", path
    assert call(client, shop, "get", "", key="brand").json["code"] == "wrong_tenant"
    assert writes(db) == before
    assert call(client, shop, "get", "", key="store_read").status_code == 200  # a read key reads


def test_bad_input_is_422_in_the_keys_language(client, shop, db):
    before = writes(db)
    for bad in (order_body(quantity=6), order_body(quantity=0), order_body(deposit="-1"), order_body(deposit="1e3"),
                order_body(customer_ref=""), order_body(customer_ref="x" * 41), order_body(contact="9" * 121),
                order_body(address="x" * 241), order_body(fulfilment="drone"), order_body(colour="red"),
                order_body(promised_date="tomorrow"), {"sku": "RK-MAX2-BLK"}):
        response = call(client, shop, "post", "", bad)
        assert response.status_code == 422 and response.json["code"] == "invalid_request", bad
        assert "请求不符合" in response.json["detail"]  # a Shanghai store's key: Simplified Chinese
        assert response.json["errors"][0]["field"]
    hong_kong = call(client, shop, "post", "", order_body(quantity=6), key="other_store")
    assert hong_kong.status_code == 422 and "請求不符合" in hong_kong.json["detail"]  # Traditional Chinese
    too_many = call(client, shop, "post", "/1/shipment", {"serials": [f"SN-{i}" for i in range(6)]}, key="origin")
    assert too_many.status_code == 422 and too_many.json["code"] == "invalid_request"
    assert call(client, shop, "post", "/1/cancellation", {"reason": "x" * 241}).status_code == 422
    assert call(client, shop, "get", "", query={"role": "brand"}).status_code == 422
    assert call(client, shop, "get", "", query={"cursor": "bm9wZQ"}).status_code == 422
    # the verbs' own rules, in the key's language too
    late = call(client, shop, "post", "", order_body(promised_date=(date.today() + timedelta(days=90)).isoformat()))
    assert late.status_code == 422 and late.json["code"] == "customer_order_promise_out_of_range"
    deposit = call(client, shop, "post", "", order_body(deposit="5000"))
    assert deposit.status_code == 422 and deposit.json["code"] == "customer_order_deposit_above_price"
    on_shelf = call(client, shop, "post", "", order_body(sku="RK-CASE", deposit=None))
    assert on_shelf.status_code == 422 and on_shelf.json["code"] == "customer_order_on_shelf"
    assert "RK-CASE" in on_shelf.json["detail"] and on_shelf.json["detail"] != on_shelf.json["title"]
    delivery = call(client, shop, "post", "", order_body(fulfilment="delivery"))
    assert delivery.status_code == 422 and delivery.json["code"] == "missing_value"
    assert call(client, shop, "post", "", order_body(sku="NOPE")).json["code"] == "unknown_product"
    assert writes(db) == before


def test_the_list_pages_newest_first_with_a_cursor_and_as_csv(client, shop, db):
    # A has one HW-EYE3-BLK: orders of two wait `placed` (nobody in Shanghai has any, nor the DC)
    ids = [place(client, shop, sku="HW-EYE3-BLK", quantity=2, customer_ref=f"T-{i}")["id"] for i in range(3)]
    first = call(client, shop, "get", "", query={"limit": 2})
    assert [o["id"] for o in first.json["data"]] == ids[::-1][:2]
    assert first.json["next_cursor"] and 'rel="next"' in first.headers["Link"]
    second = call(client, shop, "get", "", query={"limit": 2, "cursor": first.json["next_cursor"]})
    assert [o["id"] for o in second.json["data"]] == [ids[0]] and second.json["next_cursor"] is None
    csv = call(client, shop, "get", "", query={"format": "csv"})
    assert csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert text.splitlines()[0].startswith("id,reference,role,state") and "138 0000 0000" not in text
    assert "3398.00 CNY" in text and len(text.splitlines()) == 4
    assert len(call(client, shop, "get", "", query={"state": "placed"}).json["data"]) == 3
    assert call(client, shop, "get", "", query={"state": "sourced"}).json["data"] == []
