"""The brand operations of the partner API, on SQLite and PostgreSQL: products (ETag, If-Match), stock,
sell-through, forecasts, purchase orders and advance shipment notices (idempotent, also concurrently)."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from retail import create_app
from retail.config import Settings
from retail.db import new_session
from retail.models import (
    ApiResponse,
    ForecastRun,
    ForecastSeries,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseProposal,
    ReplenishmentRun,
    SerialUnit,
    Shipment,
    ShipmentNotice,
    StockBalance,
)
from retail.services import purchasing
from tests.api.factories import api_world, bearer
from tests.api.factories import conforms as check_document
from tests.committing import inventory, shipments

API = "/api/v1/brand"


def conforms(client, method: str, path: str, response):
    return check_document(client, method, API + path, response)


def get(client, world, path, key="brand", **params):
    return conforms(client, "get", path, client.get(API + path, headers=bearer(world["keys"][key]),
                                                    query_string=params))


def post(client, world, path, body, key="brand", **headers):
    return conforms(client, "post", path, client.post(API + path, json=body,
                                                      headers=bearer(world["keys"][key], **headers)))


def balance(db, location, product) -> StockBalance | None:
    db.expire_all()
    return db.get(StockBalance, (location.id, product.id))


def make_order(db, world, lines=(("RK-MAX2-BLK", 5), ("RK-CASE", 40)), as_of=date(2026, 11, 2)):
    """A replenishment run whose purchase proposals become purchase orders (one per brand and DC)."""
    forecast_run = ForecastRun(start_week=as_of, horizon=13)
    db.add(forecast_run)
    db.flush()
    run = ReplenishmentRun(forecast_run_id=forecast_run.id, as_of=as_of)
    db.add(run)
    db.flush()
    for sku, quantity in lines:
        product = db.execute(select(Product).where(Product.sku == sku)).scalar_one()
        db.add(PurchaseProposal(run_id=run.id, dc_id=world["dc"].id, product_id=product.id, brand_id=product.brand_id,
                                quantity=quantity, arrival_week=as_of + timedelta(weeks=3), explanation={}))
    db.flush()
    orders = purchasing.orders_from_plan(db, run_id=run.id)
    db.commit()
    return {o.brand_id: o for o in orders}


def confirm_all(client, world, order, lines=(("RK-MAX2-BLK", 5), ("RK-CASE", 40))):
    answered = post(client, world, f"/purchase-orders/{order.id}/answers",
                    {"lines": [{"sku": sku, "confirmed_quantity": q} for sku, q in lines]})
    assert answered.status_code == 200, answered.json
    return answered


NOTICE = {"reference": "ASN-0001", "expected_at": "2026-11-20T08:00:00Z",
          "lines": [{"sku": "RK-MAX2-BLK", "quantity": 2, "serials": ["NEW-1", "NEW-2"]},
                    {"sku": "RK-CASE", "quantity": 10}]}


# ---------------------------------------------------------------- products

def test_a_product_is_read_with_its_etag_and_other_tenants_do_not_see_it(client, world):
    response = get(client, world, "/products/RK-MAX2-BLK")
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"' and response.json["version"] == 1
    assert response.json["list_prices"] == [{"amount": "2999.00", "currency": "CNY"},
                                            {"amount": "3299.00", "currency": "HKD"}]
    other = get(client, world, "/products/RK-MAX2-BLK", key="other_brand")
    assert other.status_code == 404 and other.mimetype == "application/problem+json"
    assert get(client, world, "/products/HW-EYE3-BLK").status_code == 404
    assert get(client, world, "/products/RK-MAX2-BLK", key="store").status_code == 403
    assert get(client, world, "/products/NOPE").status_code == 404


NEW = {"sku": "RK-LITE-WHT", "model": "Rokid Lite", "variant": "white", "category": "ar", "barcode": "6970000000031",
       "list_price_cny": "1999", "list_price_hkd": "2199.50", "wholesale_cost": "1300.00", "pack_size": 1,
       "serialised": True, "launch_date": "2026-12-01"}


def test_a_brand_creates_its_sku_with_location_and_etag(client, world, db):
    response = post(client, world, "/products", NEW)
    assert response.status_code == 201, response.json
    assert response.headers["Location"] == f"{API}/products/RK-LITE-WHT"
    assert response.headers["ETag"] == '"1"'
    assert response.json["list_prices"][1] == {"amount": "2199.50", "currency": "HKD"}
    product = db.execute(select(Product).where(Product.sku == "RK-LITE-WHT")).scalar_one()
    assert product.brand_id == world["brand"].id and product.serialised and product.version == 1
    # Huawei does not see it; Rokid's read key reads it.
    assert get(client, world, "/products/RK-LITE-WHT", key="other_brand").status_code == 404
    assert get(client, world, "/products/RK-LITE-WHT", key="brand_read").status_code == 200


def test_a_sku_or_barcode_used_before_is_409(client, world):
    taken_sku = post(client, world, "/products", {**NEW, "sku": "HW-EYE3-BLK", "barcode": None})
    assert taken_sku.status_code == 409 and taken_sku.json["code"] == "already_exists"
    taken_barcode = post(client, world, "/products", {**NEW, "barcode": "6940000000011"})  # Huawei's barcode
    assert taken_barcode.status_code == 409
    barcode_as_sku = post(client, world, "/products", {**NEW, "sku": "6970000000017", "barcode": None})
    assert barcode_as_sku.status_code == 409


@pytest.mark.parametrize("change, field", [
    ({"list_price_cny": "19.999"}, "list_price_cny"),
    ({"list_price_cny": "-1"}, "list_price_cny"),
    ({"list_price_cny": "12345678901"}, "list_price_cny"),
    ({"category": "phone"}, "category"),
    ({"launch_date": "1999-12-31"}, "launch_date"),
    ({"model": "x" * 81}, "model"),
    ({"barcode": "12ab"}, "barcode"),
    ({"pack_size": 0}, "pack_size"),
    ({"colour": "red"}, "colour"),
    ({"serialised": 0}, "serialised"),  # JSON as documented: no lax conversions
    ({"pack_size": "2"}, "pack_size"),
    ({"launch_date": 946684800}, "launch_date"),
    ({"launch_date": "2026-12-01T00:00:00"}, "launch_date"),
])
def test_bad_product_input_is_a_422_problem_naming_the_field(client, world, change, field):
    response = post(client, world, "/products", {**NEW, **change})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["code"] == "invalid_request" and response.json["detail"]
    assert any(field in e["field"] for e in response.json["errors"]), response.json


def test_an_eol_before_the_launch_is_refused(client, world):
    response = post(client, world, "/products", {**NEW, "eol_date": "2026-01-01"})
    assert response.status_code == 422 and response.json["code"] == "invalid_value"


def test_write_refusals_by_scope_and_tenant(client, world):
    assert post(client, world, "/products", NEW, key="brand_read").status_code == 403
    assert post(client, world, "/products", NEW, key="store").status_code == 403
    assert client.patch(f"{API}/products/RK-CASE", json={"model": "x"},
                        headers=bearer(world["keys"]["brand_read"], **{"If-Match": '"1"'})).status_code == 403
    assert post(client, world, "/products", NEW, key="revoked").status_code == 401


def patch(client, world, sku, body, if_match=None, key="brand"):
    headers = {"If-Match": if_match} if if_match is not None else {}
    return conforms(client, "patch", f"/products/{sku}", client.patch(
        f"{API}/products/{sku}", json=body, headers=bearer(world["keys"][key], **headers)))


def test_a_change_needs_if_match_and_raises_the_version(client, world, db):
    missing = patch(client, world, "RK-CASE", {"model": "Rokid case v2"})
    assert missing.status_code == 428 and missing.json["code"] == "version_required"
    changed = patch(client, world, "RK-CASE", {"model": "Rokid case v2", "list_price_hkd": "229"}, '"1"')
    assert changed.status_code == 200, changed.json
    assert changed.headers["ETag"] == '"2"' and changed.json["version"] == 2
    assert changed.json["model"] == "Rokid case v2" and changed.json["list_prices"][1]["amount"] == "229.00"
    stale = patch(client, world, "RK-CASE", {"model": "lost update"}, '"1"')
    assert stale.status_code == 412 and stale.json["code"] == "version_mismatch"
    db.expire_all()
    assert db.get(Product, world["case"].id).model == "Rokid case v2"
    again = patch(client, world, "RK-CASE", {"eol_date": "2027-06-30", "barcode": None}, 'W/"2"')
    assert again.status_code == 200 and again.json["eol_date"] == "2027-06-30" and again.json["barcode"] is None
    assert get(client, world, "/products/RK-CASE").headers["ETag"] == '"3"'


def test_a_change_of_another_brands_product_is_404_with_or_without_if_match(client, world):
    assert patch(client, world, "HW-EYE3-BLK", {"model": "x"}).status_code == 404
    assert patch(client, world, "HW-EYE3-BLK", {"model": "x"}, '"1"').status_code == 404
    assert patch(client, world, "RK-CASE", {"model": "x"}, '"1"', key="other_brand").status_code == 404


def test_a_change_cannot_take_a_used_barcode_nor_touch_the_sku_or_serialisation(client, world):
    taken = patch(client, world, "RK-CASE", {"barcode": "6940000000011"}, '"1"')
    assert taken.status_code == 409
    for body in ({"sku": "RK-OTHER"}, {"serialised": True}, {"model": None}, {"eol_date": "2020-01-01"}):
        response = patch(client, world, "RK-CASE", body, '"1"')
        assert response.status_code == 422, (body, response.json)
    assert patch(client, world, "RK-CASE", {"model": "x"}, '"abc"').status_code == 422


# ---------------------------------------------------------------- stock

def test_stock_by_sku_province_and_store_with_cover(client, world):
    inventory.record_sale(new_session_of(client), store_id=world["a"].id, sku="RK-CASE", quantity=4)
    by_sku = get(client, world, "/stock").json["data"]
    case = next(r for r in by_sku if r["sku"] == "RK-CASE")
    assert case["on_hand"] == 20 + 20 + 100 - 4  # S0001, S0002 and the DC
    assert case["weekly_sales"] == 0.5 and case["weeks_of_cover"] == 136 / 0.5
    glasses = next(r for r in by_sku if r["sku"] == "RK-MAX2-BLK")
    assert glasses["on_hand"] == 5 and glasses["weeks_of_cover"] is None
    assert all(not r["sku"].startswith("HW") for r in by_sku)
    by_store = get(client, world, "/stock", level="store", sku="RK-CASE").json["data"]
    assert [(r["store"], r["province"], r["on_hand"]) for r in by_store] == [
        ("S0001", "Shanghai", 16), ("S0002", "Hong Kong", 20)]
    assert by_store[0]["weeks_of_cover"] == 32.0 and by_store[1]["weeks_of_cover"] is None
    by_province = get(client, world, "/stock", level="province").json["data"]
    assert [(r["province"], r["sku"]) for r in by_province] == [
        ("Hong Kong", "RK-CASE"), ("Hong Kong", "RK-MAX2-BLK"), ("Shanghai", "RK-CASE"), ("Shanghai", "RK-MAX2-BLK")]
    assert get(client, world, "/stock", key="store").status_code == 403


def new_session_of(client):
    return new_session(client.application.extensions["engine"])


def test_stock_pages_follow_the_cursor_and_export_csv(client, world):
    seen, cursor = [], ""
    for _ in range(10):
        page = get(client, world, "/stock", level="store", limit=1, cursor=cursor)
        assert page.status_code == 200
        seen += [(r["store"], r["sku"]) for r in page.json["data"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
        assert 'rel="next"' in page.headers["Link"]
    assert seen == [("S0001", "RK-CASE"), ("S0001", "RK-MAX2-BLK"), ("S0002", "RK-CASE"), ("S0002", "RK-MAX2-BLK")]
    csv = get(client, world, "/stock", format="csv")
    assert csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).splitlines()[0] == \
        "sku,province,store,on_hand,in_transit,weekly_sales,weeks_of_cover"
    assert get(client, world, "/stock", cursor="bm9wZQ").status_code == 422
    assert get(client, world, "/stock", level="planet").status_code == 422


# ---------------------------------------------------------------- sell-through

def test_sell_through_by_week_with_revenue_per_currency(client, world):
    session = new_session_of(client)
    monday = datetime(2026, 11, 2, 4, tzinfo=UTC)  # noon in Shanghai and Hong Kong
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE", quantity=2, at=monday)
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE", quantity=1, at=monday + timedelta(days=8))
    inventory.record_sale(session, store_id=world["b"].id, sku="RK-CASE", quantity=3, at=monday + timedelta(days=1))
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN-A1"], at=monday)
    inventory.record_return(session, store_id=world["a"].id, sku="RK-MAX2-BLK", serials=["SN-A1"],
                            at=monday + timedelta(days=2))
    # Sunday 23:30 in Shanghai is still the week of 2 November.
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE", quantity=1,
                          at=datetime(2026, 11, 8, 15, 30, tzinfo=UTC))
    inventory.record_sale(session, store_id=world["a"].id, sku="HW-EYE3-BLK", serials=["SN-HW1"], at=monday)
    session.close()
    by_sku = get(client, world, "/sell-through", start="2026-11-01", end="2026-11-30")
    assert by_sku.status_code == 200, by_sku.json
    rows = [(r["sku"], r["week"], r["units_sold"], r["units_returned"]) for r in by_sku.json["data"]]
    assert rows == [("RK-CASE", "2026-11-02", 6, 0), ("RK-CASE", "2026-11-09", 1, 0),
                    ("RK-MAX2-BLK", "2026-11-02", 1, 1)]
    assert by_sku.json["data"][0]["revenue"] == [{"amount": "597.00", "currency": "CNY"},
                                                 {"amount": "657.00", "currency": "HKD"}]
    by_store = get(client, world, "/sell-through", start="2026-11-01", end="2026-11-08", by="store", sku="RK-CASE")
    assert [(r["store"], r["province"], r["units_sold"]) for r in by_store.json["data"]] == [
        ("S0001", "Shanghai", 3), ("S0002", "Hong Kong", 3)]
    first = get(client, world, "/sell-through", start="2026-11-01", end="2026-11-30", by="province", limit=2)
    rest = get(client, world, "/sell-through", start="2026-11-01", end="2026-11-30", by="province", limit=2,
               cursor=first.json["next_cursor"])
    keys = [(r["sku"], r["province"], r["week"]) for r in first.json["data"] + rest.json["data"]]
    assert keys == sorted(keys) and len(keys) == len(set(keys)) == 4


@pytest.mark.parametrize("start, end", [("2026-11-30", "2026-11-01"), ("2025-01-01", "2026-01-02"),
                                        ("1999-01-01", "1999-02-01"), ("2026-02-30", "2026-03-01")])
def test_sell_through_ranges_are_bounded(client, world, start, end):
    response = get(client, world, "/sell-through", start=start, end=end)
    assert response.status_code == 422 and response.json["detail"]


def test_sell_through_needs_both_dates(client, world):
    assert get(client, world, "/sell-through", start="2026-11-01").status_code == 422


# ---------------------------------------------------------------- forecasts

def test_forecasts_are_empty_before_any_run(client, world):
    response = get(client, world, "/forecasts")
    assert response.status_code == 200 and response.json == {"data": [], "next_cursor": None}


def test_forecasts_by_store_as_stored_and_summed_to_province_and_network(client, world, db):
    run = ForecastRun(start_week=date(2026, 11, 9), horizon=2, quantiles=[0.5, 0.8, 0.95],
                      dispersion={"store": 0.2, "sku": [0.05, 0.1]})
    db.add(run)
    db.flush()
    for store, mean in ((world["a"], [2.0, 3.0]), (world["b"], [1.0, 0.5])):
        db.add(ForecastSeries(run_id=run.id, location_id=store.id, product_id=world["case"].id, mean=mean,
                              quantiles={"p50": [int(m) for m in mean], "p80": [int(m) + 1 for m in mean],
                                         "p95": [int(m) + 3 for m in mean]}))
    db.add(ForecastSeries(run_id=run.id, location_id=world["a"].id, product_id=world["eyewear"].id, mean=[9.0, 9.0],
                          quantiles={"p50": [9, 9], "p80": [11, 11], "p95": [14, 14]}))
    db.commit()
    by_store = get(client, world, "/forecasts", level="store").json["data"]
    assert [(r["store"], r["province"], r["sku"]) for r in by_store] == [
        ("S0001", "Shanghai", "RK-CASE"), ("S0002", "Hong Kong", "RK-CASE")]
    assert by_store[0]["weeks"] == [{"week": "2026-11-09", "mean": 2.0, "quantiles": {"p50": 2, "p80": 3, "p95": 5}},
                                    {"week": "2026-11-16", "mean": 3.0, "quantiles": {"p50": 3, "p80": 4, "p95": 6}}]
    network = get(client, world, "/forecasts").json["data"]
    assert [r["sku"] for r in network] == ["RK-CASE"] and network[0]["run_id"] == run.id
    weeks = network[0]["weeks"]
    assert [w["mean"] for w in weeks] == [3.0, 3.5]
    for w in weeks:  # quantiles of the sum: ordered, and narrower than the sum of the stores' quantiles
        q = w["quantiles"]
        assert q["p50"] <= q["p80"] <= q["p95"] < 5 + 1 + 3 + 3
    province = get(client, world, "/forecasts", level="province", sku="RK-CASE").json["data"]
    assert [(r["province"], [w["mean"] for w in r["weeks"]]) for r in province] == [
        ("Hong Kong", [1.0, 0.5]), ("Shanghai", [2.0, 3.0])]
    assert get(client, world, "/forecasts", key="other_brand").json["data"][0]["sku"] == "HW-EYE3-BLK"
    csv = get(client, world, "/forecasts", format="csv")
    assert csv.mimetype == "text/csv" and "RK-CASE" in csv.get_data(as_text=True)


# ---------------------------------------------------------------- purchase orders

def test_purchase_orders_are_listed_and_read_by_their_brand_only(client, world, db):
    orders = make_order(db, world, lines=(("RK-MAX2-BLK", 5), ("RK-CASE", 40), ("HW-EYE3-BLK", 7)))
    rokid, huawei = orders[world["brand"].id], orders[world["other_brand"].id]
    listed = get(client, world, "/purchase-orders").json["data"]
    assert [o["id"] for o in listed] == [rokid.id]
    assert listed[0]["dc"] == "DC-SH" and listed[0]["status"] == "open"
    assert [(ln["sku"], ln["proposed_quantity"], ln["status"]) for ln in listed[0]["lines"]] == [
        ("RK-CASE", 40, "open"), ("RK-MAX2-BLK", 5, "open")]
    assert get(client, world, f"/purchase-orders/{rokid.id}").json["reference"] == rokid.reference
    assert get(client, world, f"/purchase-orders/{huawei.id}").status_code == 404
    assert get(client, world, f"/purchase-orders/{rokid.id}", key="other_brand").status_code == 404
    assert get(client, world, "/purchase-orders/999999").status_code == 404
    assert get(client, world, "/purchase-orders", key="store").status_code == 403
    assert get(client, world, "/purchase-orders", status="answered").json["data"] == []


def test_answers_confirm_at_most_the_proposal_once_per_line(client, world, db):
    order = make_order(db, world)[world["brand"].id]
    path = f"/purchase-orders/{order.id}/answers"
    too_many = post(client, world, path, {"lines": [{"sku": "RK-CASE", "confirmed_quantity": 41}]})
    assert too_many.status_code == 422 and too_many.json["code"] == "confirm_exceeds_proposed"
    unknown = post(client, world, path, {"lines": [{"sku": "HW-EYE3-BLK", "confirmed_quantity": 1}]})
    assert unknown.status_code == 422 and unknown.json["code"] == "not_on_purchase_order"
    both = post(client, world, path, {"lines": [{"sku": "RK-CASE", "confirmed_quantity": 1, "reject": True}]})
    assert both.status_code == 422
    for lax in ({"sku": "RK-CASE", "reject": 1}, {"sku": "RK-CASE", "confirmed_quantity": "3"},
                {"sku": "RK-CASE", "reject": False}):
        assert post(client, world, path, {"lines": [lax]}).status_code == 422, lax
    first = post(client, world, path, {"lines": [{"sku": "RK-CASE", "confirmed_quantity": 30}]})
    assert first.status_code == 200 and first.json["status"] == "open"
    line = next(ln for ln in first.json["lines"] if ln["sku"] == "RK-CASE")
    assert line["status"] == "confirmed" and line["confirmed_quantity"] == 30 and line["answered_at"]
    again = post(client, world, path, {"lines": [{"sku": "RK-CASE", "reject": True}]})
    assert again.status_code == 409 and again.json["code"] == "purchase_line_closed"
    # All or nothing: a refused line leaves the other one open.
    mixed = post(client, world, path, {"lines": [{"sku": "RK-MAX2-BLK", "reject": True},
                                                 {"sku": "RK-CASE", "confirmed_quantity": 1}]})
    assert mixed.status_code == 409 and mixed.json["code"] == "purchase_line_closed"
    db.expire_all()
    assert db.execute(select(PurchaseOrderLine.status).where(PurchaseOrderLine.order_id == order.id)
                      .where(PurchaseOrderLine.product_id == world["glasses"].id)).scalar_one() == "open"
    last = post(client, world, path, {"lines": [{"sku": "RK-MAX2-BLK", "reject": True}]})
    assert last.status_code == 200 and last.json["status"] == "answered"
    assert post(client, world, path, {"lines": [{"sku": "RK-CASE", "reject": True}]},
                key="other_brand").status_code == 404
    assert post(client, world, path, {"lines": [{"sku": "RK-CASE", "reject": True}]}, key="brand_read").status_code == 403
    assert post(client, world, path, {"lines": []}).status_code == 422


def test_an_order_whose_lines_are_all_rejected_is_closed(client, world, db):
    order = make_order(db, world)[world["brand"].id]
    response = post(client, world, f"/purchase-orders/{order.id}/answers",
                    {"lines": [{"sku": "RK-CASE", "reject": True}, {"sku": "RK-MAX2-BLK", "reject": True}]})
    assert response.json["status"] == "closed"


# ---------------------------------------------------------------- shipment notices

def test_a_shipment_notice_puts_the_units_in_transit_to_the_dc(client, world, db):
    order = make_order(db, world)[world["brand"].id]
    confirm_all(client, world, order)
    response = post(client, world, f"/purchase-orders/{order.id}/shipment-notices", NOTICE)
    assert response.status_code == 201, response.json
    body = response.json
    assert response.headers["Location"] == f"{API}/shipment-notices/{body['id']}"
    assert body["status"] == "in_transit" and body["dc"] == "DC-SH" and body["order_id"] == order.id
    assert body["expected_at"] == "2026-11-20T08:00:00Z"
    assert body["lines"] == [{"sku": "RK-CASE", "quantity": 10, "serials": []},
                             {"sku": "RK-MAX2-BLK", "quantity": 2, "serials": ["NEW-1", "NEW-2"]}]
    shipment = db.execute(select(Shipment).where(Shipment.reference == body["shipment_reference"])).scalar_one()
    assert shipment.from_location_id is None and shipment.to_location_id == world["dc"].id
    units = db.execute(select(SerialUnit).where(SerialUnit.serial.in_(["NEW-1", "NEW-2"]))).scalars().all()
    assert {(u.state, u.location_id) for u in units} == {("in_transit", world["dc"].id)}
    assert balance(db, world["dc"], world["glasses"]).in_transit == 2
    assert balance(db, world["dc"], world["case"]).in_transit == 10
    lines = get(client, world, f"/purchase-orders/{order.id}").json
    assert {ln["sku"]: ln["notified_quantity"] for ln in lines["lines"]} == {"RK-CASE": 10, "RK-MAX2-BLK": 2}
    assert lines["status"] == "answered"
    assert get(client, world, f"/shipment-notices/{body['id']}").json == body
    assert [n["id"] for n in get(client, world, "/shipment-notices").json["data"]] == [body["id"]]
    assert get(client, world, "/shipment-notices", order_id=order.id + 1000).json["data"] == []
    assert get(client, world, f"/shipment-notices/{body['id']}", key="other_brand").status_code == 404
    assert get(client, world, "/shipment-notices", key="other_brand").json["data"] == []
    assert get(client, world, f"/shipment-notices/{body['id']}", key="store").status_code == 403


def test_the_dc_receives_a_brand_shipment_into_its_stock(client, world, db):
    order = make_order(db, world)[world["brand"].id]
    confirm_all(client, world, order)
    body = post(client, world, f"/purchase-orders/{order.id}/shipment-notices", NOTICE).json
    shipment = db.execute(select(Shipment).where(Shipment.reference == body["shipment_reference"])).scalar_one()
    shipments.receive(db, shipment_id=shipment.id)
    dc_glasses, dc_case = balance(db, world["dc"], world["glasses"]), balance(db, world["dc"], world["case"])
    assert (dc_glasses.on_hand, dc_glasses.in_transit) == (2, 0)
    assert (dc_case.on_hand, dc_case.in_transit) == (110, 0)
    units = db.execute(select(SerialUnit).where(SerialUnit.serial.in_(["NEW-1", "NEW-2"]))).scalars().all()
    assert {(u.state, u.location_id) for u in units} == {("in_stock", world["dc"].id)}
    received = get(client, world, f"/shipment-notices/{body['id']}").json
    assert received["status"] == "received" and received["received_at"]


def test_notices_are_bounded_by_what_remains_confirmed_and_close_the_order(client, world, db):
    order = make_order(db, world)[world["brand"].id]
    path = f"/purchase-orders/{order.id}/shipment-notices"
    unconfirmed = post(client, world, path, {"reference": "ASN-0", "lines": [{"sku": "RK-CASE", "quantity": 1}]})
    assert unconfirmed.status_code == 422 and unconfirmed.json["code"] == "notice_exceeds_confirmed"
    confirm_all(client, world, order, lines=(("RK-MAX2-BLK", 2), ("RK-CASE", 30)))
    over = post(client, world, path, {"reference": "ASN-1", "lines": [{"sku": "RK-CASE", "quantity": 31}]})
    assert over.status_code == 422 and over.json["code"] == "notice_exceeds_confirmed"
    assert post(client, world, path, {"reference": "ASN-2", "lines": [{"sku": "RK-CASE", "quantity": 20}]}
                ).status_code == 201
    assert post(client, world, path, {"reference": "ASN-3", "lines": [{"sku": "RK-CASE", "quantity": 11}]}
                ).status_code == 422
    assert get(client, world, f"/purchase-orders/{order.id}").json["status"] == "answered"
    assert post(client, world, path, {"reference": "ASN-4", "lines": [
        {"sku": "RK-CASE", "quantity": 10}, {"sku": "RK-MAX2-BLK", "quantity": 2, "serials": ["X-1", "X-2"]}]}
    ).status_code == 201
    assert get(client, world, f"/purchase-orders/{order.id}").json["status"] == "closed"
    assert get(client, world, "/purchase-orders", status="closed").json["data"][0]["id"] == order.id
    assert balance(db, world["dc"], world["case"]).in_transit == 30


@pytest.mark.parametrize("lines, status, code", [
    ([{"sku": "RK-MAX2-BLK", "quantity": 2, "serials": ["ONLY-1"]}], 422, "serials_required"),
    ([{"sku": "RK-MAX2-BLK", "quantity": 2}], 422, "serials_required"),
    ([{"sku": "RK-MAX2-BLK", "quantity": 2, "serials": ["DUP-1", "DUP-1"]}], 422, "serials_required"),
    ([{"sku": "RK-MAX2-BLK", "quantity": 1, "serials": ["SN-A1"]}], 409, "duplicate_serial"),
    ([{"sku": "RK-CASE", "quantity": 1, "serials": ["CASE-1"]}], 422, "serials_not_expected"),
    ([{"sku": "RK-CASE", "quantity": 1}, {"sku": "RK-CASE", "quantity": 1}], 422, "invalid_value"),
    ([{"sku": "HW-EYE3-BLK", "quantity": 1, "serials": ["HW-9"]}], 422, "not_on_purchase_order"),
    ([{"sku": "RK-CASE", "quantity": 0}], 422, "invalid_request"),
    ([{"sku": "RK-CASE", "quantity": 1, "serials": ["bad serial"]}], 422, "invalid_request"),
    ([], 422, "invalid_request"),
])
def test_bad_notices_are_refused_and_change_nothing(client, world, db, lines, status, code):
    order = make_order(db, world)[world["brand"].id]
    confirm_all(client, world, order)
    response = post(client, world, f"/purchase-orders/{order.id}/shipment-notices",
                    {"reference": "ASN-BAD", "lines": lines})
    assert (response.status_code, response.json["code"]) == (status, code), response.json
    assert response.json["detail"]
    assert db.execute(select(func.count()).select_from(Shipment)).scalar_one() == 0
    assert db.execute(select(func.count()).select_from(ShipmentNotice)).scalar_one() == 0
    assert balance(db, world["dc"], world["case"]).in_transit == 0


def test_notices_refused_by_tenant_and_scope(client, world, db):
    orders = make_order(db, world, lines=(("RK-CASE", 5), ("HW-EYE3-BLK", 5)))
    rokid, huawei = orders[world["brand"].id], orders[world["other_brand"].id]
    body = {"reference": "ASN-X", "lines": [{"sku": "RK-CASE", "quantity": 1}]}
    assert post(client, world, f"/purchase-orders/{huawei.id}/shipment-notices", body).status_code == 404
    assert post(client, world, f"/purchase-orders/{rokid.id}/shipment-notices", body,
                key="other_brand").status_code == 404
    assert post(client, world, f"/purchase-orders/{rokid.id}/shipment-notices", body,
                key="brand_read").status_code == 403
    assert post(client, world, f"/purchase-orders/{rokid.id}/shipment-notices", body, key="store").status_code == 403
    for bad in ({**body, "reference": "has space"}, {**body, "reference": "x" * 41}, {**body, "extra": 1},
                {**body, "expected_at": "1990-01-01T00:00:00Z"}, {**body, "expected_at": "9999-12-31T23:59:59-23:59"},
                {**body, "expected_at": 1795000000}, {**body, "lines": [{"sku": "RK-CASE", "quantity": "1"}]}):
        response = post(client, world, f"/purchase-orders/{rokid.id}/shipment-notices", bad)
        assert response.status_code == 422, (bad, response.json)


# ---------------------------------------------------------------- idempotency (must show)

def _counts(db, world) -> tuple[int, int, int, int]:
    """Shipments, notices, serial units in transit, and the DC's cases in transit."""
    db.expire_all()
    return (db.execute(select(func.count()).select_from(Shipment)).scalar_one(),
            db.execute(select(func.count()).select_from(ShipmentNotice)).scalar_one(),
            db.execute(select(func.count()).select_from(SerialUnit).where(SerialUnit.state == "in_transit")
                       ).scalar_one(),
            db.get(StockBalance, (world["dc"].id, world["case"].id)).in_transit)


def test_the_same_notice_posted_twice_with_one_key_creates_one_shipment(client, world, db):
    order = make_order(db, world)[world["brand"].id]
    confirm_all(client, world, order)
    path = f"/purchase-orders/{order.id}/shipment-notices"
    first = post(client, world, path, NOTICE, **{"Idempotency-Key": "asn-0001-try"})
    assert first.status_code == 201
    after_first = _counts(db, world)
    assert after_first == (1, 1, 2, 10)
    second = post(client, world, path, NOTICE, **{"Idempotency-Key": "asn-0001-try"})
    assert second.status_code == 201 and second.headers["Idempotent-Replayed"] == "true"
    assert second.get_data() == first.get_data()
    assert "Idempotent-Replayed" not in first.headers
    assert _counts(db, world) == after_first
    # Same key, another body: refused, nothing changes.
    other = post(client, world, path, {**NOTICE, "reference": "ASN-0002"}, **{"Idempotency-Key": "asn-0001-try"})
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    assert _counts(db, world) == after_first
    # Same reference, another key: 409, nothing changes.
    again = post(client, world, path, NOTICE, **{"Idempotency-Key": "asn-0001-other"})
    assert again.status_code == 409 and again.json["code"] == "duplicate_reference"
    without_key = post(client, world, path, NOTICE)
    assert without_key.status_code == 409
    assert _counts(db, world) == after_first
    assert {ln["sku"]: ln["notified_quantity"] for ln in get(client, world, f"/purchase-orders/{order.id}").json[
        "lines"]} == {"RK-CASE": 10, "RK-MAX2-BLK": 2}


def test_a_refused_notice_keeps_no_response_and_may_be_retried_with_its_key(client, world, db):
    order = make_order(db, world)[world["brand"].id]
    path = f"/purchase-orders/{order.id}/shipment-notices"
    refused = post(client, world, path, NOTICE, **{"Idempotency-Key": "retry-me"})
    assert refused.status_code == 422  # nothing confirmed yet
    assert db.execute(select(func.count()).select_from(ApiResponse)).scalar_one() == 0
    confirm_all(client, world, order)
    assert post(client, world, path, NOTICE, **{"Idempotency-Key": "retry-me"}).status_code == 201


def _concurrent(url, world_holder, bodies_and_keys, path, method="post", extra_headers=None):
    """Fire the requests together, each thread with its own app and client (its own connections). The apps
    are built first: on a loaded machine building six takes long, and the barrier must only time the calls."""
    apps = [create_app(Settings(env="test", database_url=url)) for _ in bodies_and_keys]
    barrier = threading.Barrier(len(bodies_and_keys))
    answers: list = [None] * len(bodies_and_keys)

    def run(i, body, key):
        client = apps[i].test_client()
        headers = bearer(world_holder["keys"]["brand"], **({"Idempotency-Key": key} if key else {}),
                         **(extra_headers or {}))
        try:
            barrier.wait(timeout=120)
            response = client.open(API + path, method=method.upper(), json=body, headers=headers)
            answers[i] = (response.status_code, response.get_data(as_text=True), response.headers.get(
                "Idempotent-Replayed"))
        except Exception as exc:  # shown in the assertion, not lost in a thread
            answers[i] = (repr(exc), "", None)

    threads = [threading.Thread(target=run, args=(i, body, key)) for i, (body, key) in enumerate(bodies_and_keys)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    finally:
        for app in apps:
            app.extensions["engine"].dispose()
    return answers


@pytest.fixture
def pg_world(postgres_url):
    app = create_app(Settings(env="test", database_url=postgres_url))
    session = new_session(app.extensions["engine"])
    world = api_world(session)
    order = make_order(session, world)[world["brand"].id]
    client = app.test_client()
    confirm_all(client, world, order)
    yield postgres_url, world, order, session
    session.close()
    app.extensions["engine"].dispose()


@pytest.mark.postgres
def test_concurrent_duplicates_with_one_key_create_one_shipment_on_postgres(pg_world):
    url, world, order, session = pg_world
    answers = _concurrent(url, world, [(NOTICE, "asn-concurrent")] * 6, f"/purchase-orders/{order.id}/shipment-notices")
    assert [a[0] for a in answers] == [201] * 6, answers
    assert len({a[1] for a in answers}) == 1  # the same answer for all
    assert sorted(a[2] or "" for a in answers) == [""] + ["true"] * 5
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Shipment)).scalar_one() == 1
    assert session.execute(select(func.count()).select_from(ShipmentNotice)).scalar_one() == 1
    assert session.execute(select(func.count()).select_from(SerialUnit).where(SerialUnit.state == "in_transit")
                           ).scalar_one() == 2
    assert session.get(StockBalance, (world["dc"].id, world["case"].id)).in_transit == 10
    assert session.execute(select(PurchaseOrderLine.notified_quantity).where(
        PurchaseOrderLine.order_id == order.id, PurchaseOrderLine.product_id == world["case"].id)).scalar_one() == 10


@pytest.mark.postgres
def test_concurrent_notices_with_one_reference_and_different_keys_make_one_shipment_on_postgres(pg_world):
    url, world, order, session = pg_world
    answers = _concurrent(url, world, [(NOTICE, f"asn-key-{i}") for i in range(6)],
                          f"/purchase-orders/{order.id}/shipment-notices")
    assert sorted(a[0] for a in answers) == [201] + [409] * 5, answers
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Shipment)).scalar_one() == 1
    assert session.get(StockBalance, (world["dc"].id, world["case"].id)).in_transit == 10
    assert session.execute(select(PurchaseOrder.status).where(PurchaseOrder.id == order.id)).scalar_one() == "answered"


def test_a_store_key_is_refused_before_its_request_is_read(client, world):
    for response in (post(client, world, "/products", {}, key="store"),
                     get(client, world, "/sell-through", key="store"),
                     client.patch(f"{API}/products/RK-CASE", json={"bad": 1}, headers=bearer(world["keys"]["store"]))):
        assert response.status_code == 403 and response.json["code"] == "wrong_tenant"


def test_forecast_sums_follow_the_latest_run(client, world, db):
    for start, mean in ((date(2026, 11, 9), 2.0), (date(2026, 11, 16), 5.0)):
        run = ForecastRun(start_week=start, horizon=1, quantiles=[0.5], dispersion=None)
        db.add(run)
        db.flush()
        db.add(ForecastSeries(run_id=run.id, location_id=world["a"].id, product_id=world["case"].id, mean=[mean],
                              quantiles={"p50": [int(mean)]}))
        db.commit()
        network = get(client, world, "/forecasts").json["data"]
        assert [(r["run_id"], r["weeks"][0]["week"], r["weeks"][0]["mean"]) for r in network] == [
            (run.id, start.isoformat(), mean)]
        by_store = get(client, world, "/forecasts", level="store").json["data"]
        assert [(r["store"], r["weeks"][0]["mean"]) for r in by_store] == [("S0001", mean)]


@pytest.mark.postgres
def test_concurrent_changes_of_one_version_let_exactly_one_through_on_postgres(pg_world):
    url, world, _order, session = pg_world
    answers = _concurrent(url, world, [({"model": f"Case {i}"}, None) for i in range(6)], "/products/RK-CASE",
                          method="patch", extra_headers={"If-Match": '"1"'})
    assert sorted(a[0] for a in answers) == [200] + [412] * 5, answers
    session.expire_all()
    product = session.get(Product, world["case"].id)
    winner = next(a for a in answers if a[0] == 200)
    assert product.version == 2 and f'"{product.model}"' in winner[1]


@pytest.mark.postgres
def test_concurrent_creations_of_one_sku_make_one_product_and_409s_on_postgres(pg_world):
    url, world, _order, session = pg_world
    answers = _concurrent(url, world, [(NEW, f"new-sku-{i}") for i in range(6)], "/products")
    assert sorted(a[0] for a in answers) == [201] + [409] * 5, answers
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Product).where(Product.sku == NEW["sku"])).scalar_one() == 1
