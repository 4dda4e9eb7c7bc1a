"""One week rule, the store's local Monday, for the store home chart, the export and the forecast input.

A sale at 23:30 on a Sunday in Shanghai is 15:30 UTC that Sunday: it belongs to the week that ends
that Sunday. A sale an hour later, 00:30 on Monday in Shanghai, is still Sunday in UTC: it belongs to
the new local week, which a UTC Monday would have put in the week before. On SQLite and PostgreSQL.
"""
from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from retail.models import MissedSale, Movement
from retail.services import exports, forecasts, sales
from retail.services.weekly_sales import (
    forecast_input,
    local_midnight,
    week_start,
    weekly_missed,
    weekly_sales,
)
from tests.factories import small_world

SUNDAY_2330_SHANGHAI = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)
MONDAY_0030_SHANGHAI = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # still Sunday in UTC
WEEK_OF_THAT_SUNDAY = date(2026, 11, 16)  # the Monday before
NEXT_WEEK = date(2026, 11, 23)
AS_OF = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # the Wednesday after, noon in Shanghai


def test_week_start_is_the_monday_of_the_store_local_week():
    assert week_start(SUNDAY_2330_SHANGHAI, "Asia/Shanghai") == WEEK_OF_THAT_SUNDAY
    assert week_start(MONDAY_0030_SHANGHAI, "Asia/Shanghai") == NEXT_WEEK
    assert week_start(MONDAY_0030_SHANGHAI, "Asia/Hong_Kong") == NEXT_WEEK
    assert week_start(MONDAY_0030_SHANGHAI, "UTC") == WEEK_OF_THAT_SUNDAY
    assert week_start(MONDAY_0030_SHANGHAI.replace(tzinfo=None), "Asia/Shanghai") == NEXT_WEEK  # naive is UTC
    assert week_start(MONDAY_0030_SHANGHAI, None) == NEXT_WEEK  # unknown zone: Asia/Shanghai
    assert local_midnight(NEXT_WEEK, "Asia/Shanghai") == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def test_the_ledger_frame_applies_week_start_to_every_row():
    """The vectorised frame and the scalar rule agree, across time zones and daylight saving changes."""
    rng = np.random.default_rng(7)
    zones = {"S1": "Asia/Shanghai", "S2": "Asia/Hong_Kong", "S3": "America/New_York", "S4": "Europe/London"}
    start = pd.Timestamp("2025-01-01", tz="UTC")
    rows = [(start, code, "SKU", "receipt", 10_000) for code in zones]
    for _ in range(2000):
        rows.append((start + pd.Timedelta(minutes=int(rng.integers(1, 60 * 24 * 400))),
                     str(rng.choice(list(zones))), "SKU", "sale", -1))
    movements = pd.DataFrame(rows, columns=["ts", "location", "sku", "kind", "quantity"])
    stores = pd.DataFrame({"code": list(zones), "timezone": list(zones.values())})
    frame = weekly_sales(movements, stores)
    got = {(r.store, r.week.date()): r.units for r in frame.itertuples() if r.units}
    sales = movements[movements["kind"] == "sale"]
    expected = Counter((loc, week_start(ts.to_pydatetime(), zones[loc])) for ts, loc in zip(sales["ts"], sales["location"],
                                                                                             strict=True))
    assert got == dict(expected)


@pytest.fixture
def sold_around_midnight(session):
    """Ten cases received at the Shanghai store, then sold at 23:30 on a Sunday (2) and 00:30 on Monday (3)."""
    world = small_world(session)
    store, case = world["a"], world["case"]
    assert store.timezone == "Asia/Shanghai"
    session.add_all([
        Movement(ts=datetime(2026, 11, 2, 2, 0, tzinfo=UTC), location_id=store.id, product_id=case.id,
                 kind="receipt", quantity=10),
        Movement(ts=SUNDAY_2330_SHANGHAI, location_id=store.id, product_id=case.id, kind="sale", quantity=-2),
        Movement(ts=MONDAY_0030_SHANGHAI, location_id=store.id, product_id=case.id, kind="sale", quantity=-3),
    ])
    session.commit()
    return world


def _units_by_week(frame: pd.DataFrame) -> dict[date, int]:
    rows = frame[(frame["store"] == "S0001") & (frame["sku"] == "RK-CASE") & (frame["units"] > 0)]
    return {pd.Timestamp(week).date(): int(units) for week, units in zip(rows["week"], rows["units"], strict=True)}


def test_a_sale_late_on_a_sunday_in_shanghai_is_in_the_same_week_on_the_chart_export_and_forecast(
        engine, session, sold_around_midnight):
    expected = {WEEK_OF_THAT_SUNDAY: 2, NEXT_WEEK: 3}

    # The export reads on its own connection: first, as SQLite lets one transaction at a time in.
    assert _units_by_week(exports.forecasting_frames(engine)["sales"]) == expected

    chart = sales.weekly_units(session, store_id=sold_around_midnight["a"].id, as_of=AS_OF, sku="RK-CASE")
    assert chart[-1][0] == NEXT_WEEK == week_start(AS_OF, "Asia/Shanghai")  # the current week is the last bar
    assert [week for week, _ in chart] == [NEXT_WEEK - timedelta(weeks=11 - i) for i in range(12)]
    assert {week: units for week, units in chart if units} == expected

    _, stores = forecasts.master_frames(session)
    assert _units_by_week(forecasts.weekly_sales(session, stores)) == expected


def test_the_chart_window_starts_at_local_midnight_of_its_first_monday(session, sold_around_midnight):
    """Viewed so that the Sunday 23:30 sale's week is the first bar, it is counted, and the Monday 00:30
    sale is in the second bar, not cut off or moved by a UTC boundary."""
    as_of = AS_OF + timedelta(weeks=10)
    chart = sales.weekly_units(session, store_id=sold_around_midnight["a"].id, as_of=as_of)
    assert chart[0] == (WEEK_OF_THAT_SUNDAY, 2) and chart[1] == (NEXT_WEEK, 3)
    assert sum(units for _, units in chart) == 5


def test_the_forecast_input_writes_no_zero_rows_and_says_the_weeks_carried():
    """issue 11: rows only for a sale, a stockout or a missed sale; whole weeks without stock
    between two weeks with stock become in_stock 0 rows; the assortment holds the weeks carried."""
    ts = pd.to_datetime(["2024-01-03 01:00", "2024-01-05 05:00",  # Wed delivery, sold out Fri
                         "2024-01-24 01:00",  # redelivered Wed, two weeks later
                         "2024-02-04 12:00"], utc=True)  # the ledger's last day (at the DC)
    movements = pd.DataFrame({"ts": ts, "location": ["S0001", "S0001", "S0001", "DC-SH"], "sku": "A",
                              "kind": ["transfer_in", "sale", "transfer_in", "receipt"], "quantity": [2, -2, 1, 5]})
    stores = pd.DataFrame({"code": ["S0001"], "timezone": ["Asia/Shanghai"]})
    dense = weekly_sales(movements, stores)
    assert list(dense["week"].dt.strftime("%m-%d")) == ["01-01", "01-22", "01-29"]  # weeks with stock
    missed = weekly_missed(pd.DataFrame({"ts": pd.to_datetime(["2024-01-10 03:00"], utc=True), "location": ["S0001"],
                                         "sku": ["A"], "quantity": [1]}), stores)
    sales, assortment = forecast_input(dense, missed)
    assert list(sales.columns) == ["store", "sku", "week", "units", "in_stock", "missed"]
    got = [(w.strftime("%m-%d"), u, round(s, 4), m) for w, u, s, m in
           zip(sales["week"], sales["units"], sales["in_stock"], sales["missed"], strict=True)]
    assert got == [("01-01", 2, round(3 / 7, 4), 0), ("01-08", 0, 0.0, 1), ("01-15", 0, 0.0, 0),
                   ("01-22", 0, round(5 / 7, 4), 0)]  # 01-29, in stock all week without a sale: no row
    assert assortment.to_dict("records") == [{"store": "S0001", "sku": "A", "start": pd.Timestamp("2024-01-01"),
                                              "end": pd.Timestamp("2024-01-29")}]


def test_missed_sales_reach_the_export_and_the_forecast_input_by_the_week_rule(engine, session, sold_around_midnight):
    store, case = sold_around_midnight["a"], sold_around_midnight["case"]
    session.add(MissedSale(ts=MONDAY_0030_SHANGHAI, store_id=store.id, product_id=case.id, quantity=2))
    session.commit()
    frames = exports.forecasting_frames(engine)
    rows = frames["sales"][(frames["sales"]["store"] == "S0001") & (frames["sales"]["sku"] == "RK-CASE")]
    assert {pd.Timestamp(w).date(): m for w, m in zip(rows["week"], rows["missed"], strict=True) if m} == {NEXT_WEEK: 2}
    carried = frames["assortment"][frames["assortment"]["sku"] == "RK-CASE"]
    assert carried["start"].min().date() == date(2026, 11, 2)  # the week of the delivery
    _, stores = forecasts.master_frames(session)
    weekly = forecasts.missed_sales(session, stores)
    assert weekly[["store", "sku", "missed"]].to_dict("records") == [{"store": "S0001", "sku": "RK-CASE", "missed": 2}]
    assert pd.Timestamp(weekly["week"].iloc[0]).date() == NEXT_WEEK
