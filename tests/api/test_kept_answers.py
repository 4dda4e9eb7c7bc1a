"""What the API keeps for speed without Redis (one process knows of no other's writes): a forecast page is kept
by run (a stored run never changes) and a new run is served at once; stock is read fresh on every call. With
Redis, both are kept by the data they read: tests/api/test_kept_by_data.py."""
from __future__ import annotations

from datetime import date

from sqlalchemy import event

from retail.models import ForecastRun, ForecastSeries
from tests.api.factories import bearer

API = "/api/v1"


def _statements(app) -> list:
    seen: list = []
    event.listen(app.extensions["engine"], "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: seen.append(statement))
    return seen


def _run(db, world, start: date, mean: float) -> ForecastRun:
    run = ForecastRun(start_week=start, horizon=2, quantiles=[0.5, 0.8], dispersion=None)
    db.add(run)
    db.flush()
    for store, scale in ((world["a"], 1.0), (world["b"], 2.0)):
        db.add(ForecastSeries(run_id=run.id, location_id=store.id, product_id=world["case"].id,
                              mean=[mean * scale, mean * scale],
                              quantiles={"p50": [int(mean * scale)] * 2, "p80": [int(mean * scale) + 1] * 2}))
    db.add(ForecastSeries(run_id=run.id, location_id=world["a"].id, product_id=world["eyewear"].id,
                          mean=[7.0, 7.0], quantiles={"p50": [7, 7], "p80": [9, 9]}))
    db.commit()
    return run


def _forecasts(client, world, key="brand", **params):
    response = client.get(f"{API}/brand/forecasts", headers=bearer(world["keys"][key]), query_string=params)
    assert response.status_code == 200, response.json
    return response


def test_a_forecast_page_is_kept_by_run_and_a_new_run_is_served_at_once(app, client, world, db):
    assert _forecasts(client, world, level="store").json["data"] == []  # no run: nothing kept for later
    first = _run(db, world, date(2026, 11, 9), 2.0)
    seen = _statements(app)
    page = _forecasts(client, world, level="store")
    assert [(r["run_id"], r["store"], r["weeks"][0]["mean"]) for r in page.json["data"]] == [
        (first.id, "S0001", 2.0), (first.id, "S0002", 4.0)]
    assert any("forecast_series" in s for s in seen)
    seen.clear()
    again = _forecasts(client, world, level="store")
    assert again.get_data() == page.get_data()
    assert seen and not any("forecast_series" in s for s in seen)  # only which run is the latest is read
    assert again.headers["X-RateLimit-Remaining"] != page.headers["X-RateLimit-Remaining"]  # per answer

    second = _run(db, world, date(2026, 11, 16), 5.0)
    fresh = _forecasts(client, world, level="store")
    assert [(r["run_id"], r["weeks"][0]["week"], r["weeks"][0]["mean"]) for r in fresh.json["data"]] == [
        (second.id, "2026-11-16", 5.0), (second.id, "2026-11-16", 10.0)]
    assert _forecasts(client, world).json["data"][0]["weeks"][0]["mean"] == 15.0  # network, summed


def test_kept_pages_follow_the_cursor_the_format_and_the_tenant(client, world, db):
    _run(db, world, date(2026, 11, 9), 2.0)
    one = _forecasts(client, world, level="store", limit=1)
    two = _forecasts(client, world, level="store", limit=1, cursor=one.json["next_cursor"])
    assert [r["store"] for r in one.json["data"]] == ["S0001"] and [r["store"] for r in two.json["data"]] == ["S0002"]
    assert 'rel="next"' in one.headers["Link"] and two.json["next_cursor"] is None
    csv = _forecasts(client, world, level="store", limit=1, format="csv")
    assert csv.mimetype == "text/csv" and csv.headers["X-Next-Cursor"] == one.json["next_cursor"]
    assert _forecasts(client, world, level="store", limit=1).json == one.json  # kept, the same
    huawei = _forecasts(client, world, key="other_brand", level="store", limit=1)  # same path, another brand
    assert [r["sku"] for r in huawei.json["data"]] == ["HW-EYE3-BLK"]


def test_stock_after_a_sale_is_fresh(client, world):
    def on_hand(sku: str) -> int:
        response = client.get(f"{API}/store/stock", headers=bearer(world["keys"]["store"]))
        return next(line["on_hand"] for line in response.json["data"] if line["sku"] == sku)

    def brand_on_hand(level: str, sku: str) -> int:
        response = client.get(f"{API}/brand/stock", headers=bearer(world["keys"]["brand"]),
                              query_string={"level": level, "sku": sku})
        return sum(row["on_hand"] for row in response.json["data"] if level == "sku" or row["store"] == "S0001")

    before = (on_hand("RK-CASE"), brand_on_hand("sku", "RK-CASE"), brand_on_hand("store", "RK-CASE"))
    sold = client.post(f"{API}/store/sales", headers=bearer(world["keys"]["store"]),
                       json={"sales": [{"receipt": "R-FRESH-1", "sku": "RK-CASE", "quantity": 2}]})
    assert sold.status_code == 201, sold.json
    assert (on_hand("RK-CASE"), brand_on_hand("sku", "RK-CASE"), brand_on_hand("store", "RK-CASE")) == tuple(
        n - 2 for n in before)
