import os
from datetime import date

import numpy as np
import pandas as pd
import pytest

from retail.demo.catalogue import ean13_check_digit
from retail.demo.generate import HISTORY_END, HISTORY_START, World, generate_world
from retail.services.exports import export_frames
from retail.services.weekly_sales import weekly_sales

SMALL = 60


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7, n_stores=SMALL)


def test_history_is_156_weeks_from_a_monday_to_a_sunday():
    assert HISTORY_START.weekday() == 0 and HISTORY_END.weekday() == 6
    assert ((HISTORY_END - HISTORY_START).days + 1) == 156 * 7


def test_same_seed_gives_identical_frames(world):
    again = generate_world(seed=7, n_stores=SMALL)
    for name in World.__dataclass_fields__:
        pd.testing.assert_frame_equal(getattr(world, name), getattr(again, name), obj=name)


def test_another_seed_gives_another_world(world):
    other = generate_world(seed=8, n_stores=SMALL)
    assert not world.movements.equals(other.movements)
    assert not world.stores.equals(other.stores)


def test_frames_have_the_agreed_columns(world):
    expected = {
        "brands": ["code", "name", "name_zh", "lead_time_days", "moq", "contact_email"],
        "products": ["sku", "brand_code", "model", "variant", "category", "barcode", "list_price_cny",
                     "list_price_hkd", "wholesale_cost_cny", "pack_size", "serialised", "launch_date", "eol_date"],
        "stores": ["code", "name", "city", "city_zh", "province", "city_tier", "market", "currency", "timezone",
                   "partnership", "status", "opened_on", "size_class", "dc_code"],
        "dcs": ["code", "name", "city", "market", "currency", "timezone"],
        "users": ["email", "name", "role", "store_code", "brand_code", "language"],
        "movements": ["ts", "location", "sku", "kind", "quantity", "unit_price", "currency", "reference"],
        "shipments": ["reference", "from_location", "to_location", "shipped_at", "expected_at", "received_at"],
    }
    for name, columns in expected.items():
        frame = getattr(world, name)
        assert list(frame.columns) == columns, name
        assert isinstance(frame.index, pd.RangeIndex), name


def test_catalogue_has_about_150_skus_in_the_price_bands(world):
    p = world.products
    assert 130 <= len(p) <= 170
    assert len(world.brands) == 12
    bands = {"audio": (999, 1999), "camera": (1499, 2999), "ar": (2499, 4999)}
    for category, (low, high) in bands.items():
        prices = p.loc[p["category"] == category, "list_price_cny"]
        assert prices.between(low, high).all(), category
    ratio = p["wholesale_cost_cny"] / p["list_price_cny"]
    assert ratio.between(0.59, 0.76).all()
    assert set(p["pack_size"]) <= {1, 2, 5} and (p["pack_size"] == 1).mean() > 0.7


def test_barcodes_are_valid_unique_ean13(world):
    codes = world.products["barcode"]
    assert codes.is_unique
    assert codes.str.fullmatch(r"\d{13}").all()
    assert all(int(c[12]) == ean13_check_digit(c[:12]) for c in codes)
    assert ean13_check_digit("400638133393") == 1  # a published EAN-13: 4006381333931


def test_codes_skus_and_emails_are_unique(world):
    assert world.products["sku"].is_unique
    assert world.stores["code"].is_unique
    assert world.users["email"].is_unique
    assert world.brands["code"].is_unique
    assert world.users["email"].str.contains(r"@(?:[a-z0-9.]+\.)?example\.(?:com|hk)$").all()


def test_every_store_has_a_manager_and_staff_and_every_brand_a_partner(world):
    users = world.users
    assert (users["role"] == "admin").sum() == 1
    assert (users["role"] == "planner").sum() == 5
    managers = users.loc[users["role"] == "store_manager", "store_code"]
    assert sorted(managers) == sorted(world.stores["code"])
    staff = users.loc[users["role"] == "store_staff"].groupby("store_code").size()
    assert staff.between(1, 2).all() and len(staff) == len(world.stores)
    assert set(users.loc[users["role"] == "brand_partner", "brand_code"]) == set(world.brands["code"])


def test_hong_kong_stores_price_in_hkd(world):
    stores = world.stores
    hk = stores[stores["market"] == "HK"]
    assert len(hk) >= 1
    assert (hk["currency"] == "HKD").all() and (hk["timezone"] == "Asia/Hong_Kong").all()
    sales = world.movements[world.movements["kind"] == "sale"]
    hk_sales = sales[sales["location"].isin(hk["code"])]
    assert (hk_sales["currency"] == "HKD").all()
    assert (sales.loc[~sales["location"].isin(hk["code"]), "currency"] == "CNY").all()


def test_ledger_timestamps_are_utc_and_in_order(world):
    ts = world.movements["ts"]
    assert str(ts.dt.tz) == "UTC"
    assert ts.is_monotonic_increasing
    assert ts.min() >= pd.Timestamp(HISTORY_START, tz="UTC")
    assert ts.max() < pd.Timestamp(HISTORY_END, tz="UTC") + pd.Timedelta(days=1)


def test_quantities_have_the_sign_of_their_kind(world):
    m = world.movements
    sign = {"receipt": 1, "sale": -1, "return": 1, "transfer_out": -1, "transfer_in": 1,
            "write_off": -1, "demo_in": 1, "demo_out": -1}
    assert set(m["kind"]) <= set(sign) | {"count_adjustment"}
    for kind, s in sign.items():
        assert (np.sign(m.loc[m["kind"] == kind, "quantity"]) == s).all(), kind
    assert (m["quantity"] != 0).all()


def test_stock_never_goes_below_zero_at_any_location(world):
    m = world.movements
    running = m.groupby(["location", "sku"], sort=False)["quantity"].cumsum()
    assert running.min() >= 0


def test_no_sale_before_stock_arrives(world):
    m = world.movements
    at_stores = m[m["location"].isin(world.stores["code"])]
    first = at_stores.groupby(["location", "sku"], sort=False)["kind"].first()
    assert (first == "transfer_in").all()
    dcs = m[m["location"].isin(world.dcs["code"])]
    assert (dcs.groupby(["location", "sku"], sort=False)["kind"].first() == "receipt").all()


def test_every_transfer_in_matches_a_transfer_out_of_the_same_shipment(world):
    m = world.movements
    out = m[m["kind"] == "transfer_out"].set_index(["reference", "sku"])
    inn = m[m["kind"] == "transfer_in"].set_index(["reference", "sku"])
    assert out.index.is_unique and inn.index.is_unique
    paired = inn.join(out.add_suffix("_out"), how="left")
    assert (paired["quantity"] == -paired["quantity_out"]).all()
    assert (paired["ts_out"] < paired["ts"]).all()
    assert (paired["location"] != paired["location_out"]).all()
    shipments = world.shipments
    assert set(shipments["reference"]) == set(out.index.get_level_values(0))
    assert shipments["reference"].is_unique


def test_sales_carry_the_price_charged_and_returns_quote_their_sale(world):
    m = world.movements
    sales = m[m["kind"] == "sale"]
    returns = m[m["kind"] == "return"]
    assert sales["unit_price"].gt(0).all() and returns["unit_price"].gt(0).all()
    assert sales["reference"].is_unique
    assert returns["reference"].isin(sales["reference"]).all()
    quoted = sales.set_index("reference").loc[returns["reference"]]
    assert (quoted["ts"].to_numpy() < returns["ts"].to_numpy()).all()
    assert (quoted["location"].to_numpy() == returns["location"].to_numpy()).all()
    assert 0.0 < len(returns) / len(sales) < 0.06


def test_sales_scale_with_the_number_of_stores(world):
    sales = world.movements[world.movements["kind"] == "sale"]
    per_year = (-sales["quantity"]).groupby(sales["ts"].dt.year).sum()
    expected = 30_000 * SMALL / 3000
    for year in (2024, 2025):
        assert 0.7 * expected < per_year[year] < 1.3 * expected


def test_weekly_sales_add_up_to_the_ledger(world):
    weekly = weekly_sales(world.movements, world.stores)
    sales = world.movements[world.movements["kind"] == "sale"]
    assert weekly["units"].sum() == -sales["quantity"].sum()
    assert weekly["in_stock"].between(0, 1).all()
    assert (weekly["week"].dt.day_of_week == 0).all()
    assert (weekly["week"] == weekly["week"].dt.normalize()).all()
    assert weekly["week"].dt.tz is None
    assert not weekly.duplicated(["store", "sku", "week"]).any()
    assert set(weekly["store"]) <= set(world.stores["code"])
    assert weekly["units"].ge(0).all()


def test_weekly_sales_counts_days_in_stock_and_starts_at_first_delivery():
    ts = pd.to_datetime([
        "2024-01-03 01:00", "2024-01-04 05:00", "2024-01-05 05:00",  # Wed delivery, sell out Fri
        "2024-01-10 01:00", "2024-01-12 06:00", "2024-01-13 06:00",  # Wed redelivery, sale, return
    ], utc=True)
    ledger = pd.DataFrame({
        "ts": ts, "location": "S0001", "sku": "A",
        "kind": ["transfer_in", "sale", "sale", "transfer_in", "sale", "return"],
        "quantity": [2, -1, -1, 1, -1, 1],
    })
    dc = pd.DataFrame({"ts": pd.to_datetime(["2024-01-21 01:00"], utc=True), "location": "DC-SH", "sku": "A",
                       "kind": "receipt", "quantity": 5})
    weekly = weekly_sales(pd.concat([ledger, dc], ignore_index=True))
    assert list(weekly["week"].dt.strftime("%Y-%m-%d")) == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert list(weekly["units"]) == [2, 1, 0]
    # Week 1: Wed, Thu, Fri (sold out). Week 2: Wed to Fri (sold out), Sat (returned), Sun. Week 3: all.
    assert weekly["in_stock"].round(4).tolist() == [round(3 / 7, 4), round(5 / 7, 4), 1.0]


def test_export_frames_gives_the_forecasting_inputs(world):
    frames = export_frames(world)
    assert list(frames["sales"].columns) == ["store", "sku", "week", "units", "in_stock", "missed"]
    assert list(frames["assortment"].columns) == ["store", "sku", "start", "end"]
    assert list(frames["products"].columns) == [
        "sku", "brand", "category", "launch_date", "eol_date", "list_price", "unit_cost", "currency",
        "pack_size", "lead_time_weeks", "moq"]
    assert list(frames["stores"].columns) == [
        "store", "province", "city", "tier", "market", "currency", "size_class", "partnership", "dc"]
    assert frames["products"]["lead_time_weeks"].between(1, 4).all()


def test_refuses_a_world_without_stores():
    with pytest.raises(ValueError, match="n_stores"):
        generate_world(seed=1, n_stores=0)
    with pytest.raises(ValueError, match="end"):
        generate_world(seed=1, n_stores=5, start=date(2025, 1, 1), end=date(2024, 1, 1))


@pytest.mark.skipif(not os.environ.get("DEMO_SLOW"), reason="by hand: DEMO_SLOW=1 (3,000 stores, ~25 s)")
def test_full_world_sells_about_30000_units_a_year():
    world = generate_world(seed=7, n_stores=3000)
    sales = world.movements[world.movements["kind"] == "sale"]
    per_year = (-sales["quantity"]).groupby(sales["ts"].dt.tz_convert("Asia/Shanghai").dt.year).sum()
    print(per_year.to_dict())
    assert 27_000 <= per_year[2024] <= 33_000
    assert 27_000 <= per_year[2025] <= 33_000


def test_the_export_writes_only_the_weeks_that_say_something_and_the_weeks_carried(world):
    """The contract's frame (issue 11): no zero rows in stock, a window per pair; written back out
    as a row per carried week it is `weekly_sales` again, plus in_stock 0 for whole weeks without stock."""
    from forecasting.panel import carried_rows
    from forecasting.validation import check_assortment, check_sales

    dense = weekly_sales(world.movements, world.stores)
    frames = export_frames(world)
    sales, assortment = frames["sales"], frames["assortment"]
    assert len(sales) < len(dense) / 5
    said = (sales["units"] > 0) | (sales["in_stock"] < 1) | (sales["missed"] > 0)
    assert said.all()
    assert sales["units"].sum() == dense["units"].sum()
    assert not assortment.duplicated(["store", "sku"]).any() and (assortment["start"] <= assortment["end"]).all()
    back = carried_rows(check_sales(sales), check_assortment(assortment))
    back = back[(back["units"] > 0) | (back["in_stock"] > 0)].reset_index(drop=True)
    pd.testing.assert_frame_equal(back[["store", "sku", "week", "units", "in_stock"]].astype({"store": str, "sku": str}),
                                  dense.astype({"store": str, "sku": str, "units": float}), check_dtype=False)
