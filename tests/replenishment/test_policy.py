"""Order-up-to arithmetic, pack rounding, display minimums, capacity and end of life, by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecasting.replenishment import PolicyConfig, ServiceLevels, explain, pack_round, plan_orders
from forecasting.replenishment.cover import cover_demand
from tests.replenishment.helpers import MONDAY, forecast_frame, products_frame

POISSON = dict(store_phi=0.0, sku_phi=0.0)


def one_line(position, *, means=(0.5,) * 4, products=None, config=None, stores=None):
    fc = forecast_frame({("S1", "A"): list(means)}, **POISSON)
    pos = pd.DataFrame([{"store": "S1", "sku": "A", **position}])
    lines = plan_orders(fc, pos, as_of=MONDAY, products=products if products is not None else products_frame(),
                        stores=stores, config=config or PolicyConfig(review_weeks=1, lead_weeks=1))
    assert len(lines) == 1
    return lines.iloc[0]


def test_order_up_to_is_the_cover_quantile_minus_the_position():
    # Cover = lead 1 + review 1 = 2 weeks of 0.5: Poisson(1). P(D<=2)=0.920, P(D<=3)=0.981 -> S=3 at 95 %.
    line = one_line({"on_hand": 1, "in_transit": 0, "open_orders": 1, "reserved": 0})
    assert line.forecast_cover == pytest.approx(1.0)
    assert line.cover_quantile == 3
    assert line.order_up_to == 3
    assert line.position == 2
    assert line.need == 1
    assert line.order_units == 1
    assert line.reason == "order"


def test_reserved_units_lower_the_position_and_transfers_count():
    line = one_line({"on_hand": 3, "reserved": 2, "transfers_in": 1, "transfers_out": 1})
    assert line.position == 1  # 3 + 1 - 1 - 2
    assert line.order_units == 2


def test_a_higher_service_level_stocks_a_higher_quantile():
    # Poisson(1): P(D<=3)=0.981 < 0.99 <= P(D<=4)=0.996 -> S=4; by brand overrides the default.
    config = PolicyConfig(service=ServiceLevels(default=0.95, by_brand={"Acme": 0.99}))
    line = one_line({"on_hand": 0}, config=config)
    assert line.service_level == 0.99
    assert line.cover_quantile == 4
    assert line.order_units == 4


def test_quantile_matches_scipy_for_a_negative_binomial_cover():
    fc = forecast_frame({("S1", "A"): [2.0, 2.0, 2.0]}, store_phi=0.5, sku_phi=0.0)
    demand = cover_demand(fc, as_of=MONDAY, cover_weeks=pd.Series({"S1": 3}))
    # Store noise independent by week: var = sum(mu + 0.5 mu^2) = 6 + 6 = 12, mean 6 -> phi = 6/36.
    assert demand.cover_mean.iloc[0] == pytest.approx(6.0)
    assert demand.cover_phi.iloc[0] == pytest.approx(6 / 36)
    n = 1 / (6 / 36)
    expected = stats.nbinom.ppf(0.95, n, n / (n + 6))
    line = plan_orders(fc, pd.DataFrame({"store": ["S1"], "sku": ["A"], "on_hand": [0]}), as_of=MONDAY,
                       products=products_frame(), config=PolicyConfig(review_weeks=2, lead_weeks=1)).iloc[0]
    assert line.cover_quantile == expected


def test_a_suggestion_is_not_repeated_while_the_last_one_is_on_its_way():
    first = one_line({"on_hand": 0})
    again = one_line({"on_hand": 0, "open_orders": int(first.order_units)})
    assert first.order_units > 0
    assert again.order_units == 0
    assert again.reason == "covered"


@pytest.mark.parametrize(("need", "pack", "share", "expected"), [
    (3, 2, 0.5, 4),   # remainder 1 = half a pack: up
    (5, 4, 0.5, 4),   # remainder 1 < 2: down
    (7, 4, 0.5, 8),   # remainder 3 >= 2: up
    (8, 4, 0.5, 8),   # whole packs stay
    (1, 5, 0.5, 0),   # remainder 1 < 2.5: down to nothing
    (0, 3, 0.0, 0),
])
def test_pack_rounding(need, pack, share, expected):
    got = pack_round(np.array([need]), np.array([pack]), round_up_share=share, must_round_up=np.array([False]))
    assert got[0] == expected


def test_pack_rounding_goes_up_rather_than_leave_an_empty_shelf():
    got = pack_round(np.array([1]), np.array([5]), round_up_share=0.5, must_round_up=np.array([True]))
    assert got[0] == 5


def test_order_line_rounds_to_packs_and_explains_the_rounding():
    line = one_line({"on_hand": 0}, products=products_frame(pack_size=[2]))
    assert line.need == 3
    assert line.order_units == 4
    assert line.rounding == 1


def test_display_minimum_raises_the_target_for_slow_sellers():
    config = PolicyConfig(display_min={"Acme": 2})
    line = one_line({"on_hand": 0}, means=(0.01,) * 4, config=config)
    assert line.cover_quantile == 0
    assert line.order_up_to == 2
    assert line.order_units == 2


def test_demo_units_are_not_sellable_stock():
    line = one_line({"on_hand": 0, "demo": 5})
    assert line.position == 0
    assert line.order_units == 3


def test_end_of_life_skus_are_not_reordered():
    eol = products_frame(eol_date=[MONDAY + pd.Timedelta(days=3)])  # ends before a delivery could arrive
    line = one_line({"on_hand": 0}, products=eol, config=PolicyConfig(display_min={"Acme": 1}))
    assert line.order_units == 0
    assert line.order_up_to == 0
    assert line.reason == "end_of_life"


def test_a_sku_ending_after_the_delivery_is_still_ordered():
    later = products_frame(eol_date=[MONDAY + pd.Timedelta(weeks=6)])
    assert one_line({"on_hand": 0}, products=later).order_units == 3


def test_shelf_capacity_drops_the_least_likely_units_first():
    fc = forecast_frame({("S1", "A"): [2.0] * 3, ("S1", "B"): [0.1] * 3}, **POISSON)
    products = pd.DataFrame({"sku": ["A", "B"], "brand": ["Acme", "Acme"], "pack_size": [1, 1],
                             "eol_date": [pd.NaT, pd.NaT]})
    pos = pd.DataFrame({"store": ["S1", "S1"], "sku": ["A", "B"], "on_hand": [1, 0]})
    free = plan_orders(fc, pos, as_of=MONDAY, products=products).set_index("sku")
    capped = plan_orders(fc, pos, as_of=MONDAY, products=products,
                         stores=pd.DataFrame({"store": ["S1"], "capacity": [5]})).set_index("sku")
    assert free.order_units.sum() + 1 > 5  # the cap binds
    assert capped.order_units.sum() + 1 == 5
    assert (capped.order_units + capped.capacity_cut == free.order_units).all()
    # B's single unit sells with probability 1 - exp(-0.2) = 0.18; A's fifth unit with P(Poisson(4) >= 5) = 0.37.
    assert capped.loc["B", "capacity_cut"] >= 1
    assert capped.loc["A", "order_units"] == 4


def test_explanation_states_the_numbers():
    fc = forecast_frame({("S1", "A"): [0.5] * 4}, **POISSON)
    lines = plan_orders(fc, pd.DataFrame({"store": ["S1"], "sku": ["A"], "on_hand": [1]}), as_of=MONDAY,
                        products=products_frame())
    text = explain(lines).iloc[0]
    assert "Forecast 1.00 units over 2 weeks" in text
    assert "95% quantile 3" in text
    assert "Suggest 2." in text


def test_refuses_an_as_of_that_is_not_a_monday():
    fc = forecast_frame({("S1", "A"): [0.5] * 4})
    with pytest.raises(ValueError, match="Monday"):
        plan_orders(fc, pd.DataFrame({"store": [], "sku": []}), as_of=MONDAY + pd.Timedelta(days=1),
                    products=products_frame())


def test_refuses_a_forecast_shorter_than_the_cover():
    fc = forecast_frame({("S1", "A"): [0.5]})
    with pytest.raises(ValueError, match="longer horizon"):
        plan_orders(fc, pd.DataFrame({"store": ["S1"], "sku": ["A"]}), as_of=MONDAY, products=products_frame())
