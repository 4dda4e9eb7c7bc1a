"""Properties of the statement arithmetic (no database): whatever the movements, the store's and the platform's
shares add up to the net sales, and a month's statement plus its adjusting statement equal the month computed
at once from every movement, however the movements were split between the first run and late recording."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from retail.models import Agreement
from retail.services import settlement
from retail.services.settlement import Catalogue, Period, consignment_lines, difference, totals_of

MONTH = date(2026, 10, 1)
PRODUCTS = {1: ("RK-CASE", 10), 2: ("RK-MAX2-BLK", 10), 3: ("HW-EYE3", 20)}


class FixedList(Catalogue):
    def list_price(self, session, product_id, currency, day):
        return Decimal("219.00") if product_id == 1 else Decimal("2999.00")


def _versions(share_1: str, share_2: str, change_day: int) -> list[Agreement]:
    return [Agreement(id=1, location_id=1, version=1, valid_from=date(2026, 1, 1), model="consignment",
                      revenue_share=Decimal(share_1), shrinkage_rate=Decimal("0.5"), currency="HKD",
                      brand_terms={"20": {"revenue_share": "0.1500"}}),
            Agreement(id=2, location_id=1, version=2, valid_from=date(2026, 10, change_day), model="consignment",
                      revenue_share=Decimal(share_2), shrinkage_rate=Decimal("1"), currency="HKD")]


movement = st.tuples(
    st.integers(0, 30 * 24 - 1),  # hour of the month (UTC)
    st.sampled_from(list(PRODUCTS)),
    st.sampled_from(["sale", "return", "count_adjustment"]),
    st.integers(1, 3),
    st.sampled_from(["199.00", "200.00", "2999.00", "0.01", "1234.56"]),
    st.booleans(),  # recorded late
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(movement, max_size=30), st.sampled_from(["0.2000", "0.3333", "0.0000", "1.0000"]),
       st.sampled_from(["0.2500", "0.1000"]), st.integers(2, 28))
def test_shares_add_up_and_adjustments_complete_the_month(moves, share_1, share_2, change_day):
    period = Period(1, "S0002", "Asia/Hong_Kong", "HKD", MONTH, _versions(share_1, share_2, change_day))
    catalogue = FixedList(rows=PRODUCTS)
    start = datetime(2026, 9, 30, 16, tzinfo=UTC)  # 1 October 00:00 in Hong Kong
    rows, first = [], []
    for i, (hour, product, kind, units, price, late) in enumerate(moves):
        quantity = -units if kind == "sale" or (kind == "count_adjustment" and i % 2) else units
        row = (i + 1, start + timedelta(hours=hour), product, kind, quantity,
               Decimal(price) if kind != "count_adjustment" else None)
        rows.append(row)
        if not late:
            first.append(row)
    issued = consignment_lines(None, period, first, catalogue)
    everything = consignment_lines(None, period, rows, catalogue)
    adjusting = difference(everything, [issued])
    totals = totals_of("consignment", everything)
    assert Decimal(totals["store_share"]) + Decimal(totals["platform_share"]) == Decimal(totals["net_sales"])
    assert Decimal(totals["due_to_platform"]) == Decimal(totals["platform_share"]) + Decimal(totals["shrinkage"])
    # The issued statement plus its adjustment is the month computed at once (nothing lost, nothing twice).
    assert difference(everything, [issued, adjusting]) == []
    combined = {k: Decimal(str(v)) for k, v in totals_of("consignment", issued).items()}
    for key, value in totals_of("consignment", adjusting).items():
        combined[key] += Decimal(str(value))
    assert combined == {k: Decimal(str(v)) for k, v in totals.items()}
    # Re-running with nothing new adjusts nothing.
    assert difference(everything, [everything]) == []


def test_month_bounds_are_local():
    start, end = settlement.bounds(MONTH, "Asia/Shanghai")
    assert (start, end) == (datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC))
