"""Fair share under DC shortage, and purchase proposals with lead time, MOQ and packs."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.replenishment import allocate, purchase_proposals
from tests.replenishment.helpers import MONDAY, forecast_frame, products_frame


def requests(rows):
    return pd.DataFrame(rows, columns=["dc", "store", "sku", "units", "forecast_cover", "cover_phi", "position",
                                       "service_level"])


def test_everyone_gets_their_request_when_the_dc_has_enough():
    req = requests([("D", "S1", "A", 2, 1.0, 0.0, 0, 0.95), ("D", "S2", "A", 3, 1.0, 0.0, 0, 0.95)])
    out = allocate(req, pd.DataFrame({"dc": ["D"], "sku": ["A"], "units": [5]}))
    assert out["allocated"].tolist() == [2, 3]
    assert out["short"].sum() == 0


def test_shortage_is_shared_by_need_not_first_come_first_served():
    # S1 asked first but still holds 2; S2 and S3 are empty: their first units are worth more.
    req = requests([("D", "S1", "A", 2, 1.0, 0.0, 2, 0.95), ("D", "S2", "A", 2, 1.0, 0.0, 0, 0.95),
                    ("D", "S3", "A", 2, 1.0, 0.0, 0, 0.95)])
    out = allocate(req, pd.DataFrame({"dc": ["D"], "sku": ["A"], "units": [2]})).set_index("store")
    assert out["allocated"].to_dict() == {"S1": 0, "S2": 1, "S3": 1}


def test_a_higher_service_level_is_served_first():
    req = requests([("D", "S1", "A", 1, 1.0, 0.0, 0, 0.90), ("D", "S2", "A", 1, 1.0, 0.0, 0, 0.99)])
    out = allocate(req, pd.DataFrame({"dc": ["D"], "sku": ["A"], "units": [1]})).set_index("store")
    assert out.loc["S2", "allocated"] == 1
    assert out.loc["S1", "allocated"] == 0


@settings(max_examples=60, deadline=None)
@given(
    asks=st.lists(st.tuples(st.integers(0, 6), st.floats(0.0, 5.0), st.integers(0, 4)), min_size=1, max_size=8),
    available=st.integers(0, 30),
)
def test_allocation_adds_up_to_the_available_stock(asks, available):
    req = requests([("D", f"S{i}", "A", n, mu, 0.2, pos, 0.95) for i, (n, mu, pos) in enumerate(asks)])
    out = allocate(req, pd.DataFrame({"dc": ["D"], "sku": ["A"], "units": [available]}))
    assert out["allocated"].sum() == min(available, req["units"].sum())
    assert (out["allocated"] <= out["units"]).all()
    assert (out["allocated"] >= 0).all()


def test_dcs_and_skus_are_allocated_separately():
    req = requests([("D1", "S1", "A", 3, 1.0, 0.0, 0, 0.95), ("D2", "S2", "A", 3, 1.0, 0.0, 0, 0.95),
                    ("D1", "S1", "B", 3, 1.0, 0.0, 0, 0.95)])
    avail = pd.DataFrame({"dc": ["D1", "D2", "D1"], "sku": ["A", "A", "B"], "units": [1, 10, 0]})
    out = allocate(req, avail)
    assert out["allocated"].tolist() == [1, 3, 0]


def _proposal(products, dc_position=None, means=(1.0,) * 6):
    fc = forecast_frame({("S1", "A"): list(means), ("S2", "A"): list(means)})
    dc_position = dc_position if dc_position is not None else pd.DataFrame(
        {"dc": ["D"], "sku": ["A"], "on_hand": [0], "on_order": [0], "committed": [0]})
    out = purchase_proposals(fc, dc_position, as_of=MONDAY, products=products,
                             store_dc=pd.Series({"S1": "D", "S2": "D"}), service_level=0.95, review_weeks=1)
    assert len(out) == 1
    return out.iloc[0]


def test_purchase_covers_the_brand_lead_time_and_rounds_to_moq_and_packs():
    # Two stores x 1/week x (lead 2 + review 1) weeks: Poisson(6); 95 % quantile 10.
    line = _proposal(products_frame(moq=[1], pack_size=[4]))
    assert line.forecast_cover == pytest.approx(6.0)
    assert line.cover_quantile == 10
    assert line.units == 12  # 10 up to whole packs of 4
    assert line.arrival_week == MONDAY + pd.Timedelta(weeks=2)


def test_purchase_is_raised_to_the_minimum_order_quantity():
    pos = pd.DataFrame({"dc": ["D"], "sku": ["A"], "on_hand": [5], "on_order": [3], "committed": [1]})
    line = _proposal(products_frame(moq=[20], pack_size=[6]), pos)
    assert line.position == 7
    assert line.need == 3
    assert line.units == 24  # MOQ 20, up to packs of 6


def test_no_purchase_when_the_dc_position_covers_the_need():
    pos = pd.DataFrame({"dc": ["D"], "sku": ["A"], "on_hand": [50], "on_order": [0], "committed": [0]})
    line = _proposal(products_frame(moq=[20]), pos)
    assert line.units == 0
    assert line.reason == "covered"


def test_no_purchase_for_an_end_of_life_sku():
    line = _proposal(products_frame(eol_date=[MONDAY + pd.Timedelta(weeks=1)]))
    assert line.units == 0
    assert line.reason == "end_of_life"
