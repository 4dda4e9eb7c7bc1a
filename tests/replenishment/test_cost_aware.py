"""The cost-aware stocking rule by hand: hold the k-th unit when P(D_shelf >= k) >= hold x cost / 1000.

Poisson shelf demand with mean 1: P(D>=1) = 0.6321, P(D>=2) = 0.2642, P(D>=3) = 0.0803, P(D>=4) = 0.0190.
Poisson shelf demand with mean 0.2: P(D>=1) = 0.1813, P(D>=2) = 0.0175, P(D>=3) = 0.0011.
"""

import numpy as np
import pandas as pd
import pytest

from forecasting.replenishment import PolicyConfig, explain, plan_orders
from forecasting.replenishment.policy import cost_aware_orders, hold_bar
from tests.replenishment.helpers import MONDAY, forecast_frame, products_frame


def orders(position, mean, bar, pack=1):
    target, order = cost_aware_orders(np.array([position]), np.array([mean]), np.array([0.0]), np.array([bar]),
                                      np.array([pack]))
    return int(target[0]), int(order[0])


def test_the_bar_is_the_hold_rate_times_the_cost_in_thousands():
    assert hold_bar(np.array([1500.0, 600.0]), 0.01) == pytest.approx([0.015, 0.006])
    assert hold_bar(np.array([10**9]), 0.01)[0] < 1.0  # capped: a bar of 1 would hold nothing, even sure sales


@pytest.mark.parametrize(("bar", "held"), [(0.6, 1), (0.3, 1), (0.25, 2), (0.05, 3), (0.019, 3), (0.018, 4)])
def test_single_units_are_held_while_their_chance_clears_the_bar(bar, held):
    # 0.25: P(D>=2)=0.264 clears it, P(D>=3)=0.080 does not; 0.018 < P(D>=4)=0.0190.
    assert orders(0, 1.0, bar) == (held, held)


def test_the_order_is_the_held_units_minus_the_position():
    assert orders(1, 1.0, 0.05) == (3, 2)
    assert orders(5, 1.0, 0.05) == (3, 0)  # above the target: nothing, never negative


def test_the_same_forecast_holds_more_of_a_cheap_unit_than_of_a_dear_one():
    bars = hold_bar(np.array([600.0, 3000.0]), 0.05)  # 0.03 and 0.15
    target, order = cost_aware_orders(np.zeros(2, np.int64), np.ones(2), np.zeros(2), bars, np.ones(2, np.int64))
    # 600 CNY: P(D>=3) = 0.080 >= 0.03 > P(D>=4) = 0.019 -> 3; 3000 CNY: P(D>=2) = 0.264 >= 0.15 > 0.080 -> 2.
    assert list(target) == [3, 2]
    assert list(order) == [3, 2]


def test_a_pack_is_bought_when_its_units_clear_the_bar_on_average():
    # Pack of 2 from an empty shelf: units 1 and 2 sell with 0.632 and 0.264, mean 0.448.
    assert orders(0, 1.0, 0.3, pack=2)[1] == 2
    assert orders(0, 1.0, 0.5, pack=2)[1] == 0  # 0.448 < 0.5 although the first unit alone (0.632) would clear it
    # A second pack (units 3, 4: mean (0.080 + 0.019) / 2 = 0.050) needs a bar of at most 0.0497.
    assert orders(0, 1.0, 0.049, pack=2)[1] == 4
    assert orders(0, 1.0, 0.051, pack=2)[1] == 2
    # With one unit on the shelf the next pack holds units 2 and 3: (0.264 + 0.080) / 2 = 0.172.
    assert orders(1, 1.0, 0.17, pack=2)[1] == 2
    assert orders(1, 1.0, 0.18, pack=2)[1] == 0


def test_a_pack_of_five_goes_only_where_five_units_can_sell():
    # Mean 0.2: (0.1813 + 0.0175 + 0.0011 + 0.0001 + 0) / 5 = 0.0400.
    assert orders(0, 0.2, 0.039, pack=5)[1] == 5
    assert orders(0, 0.2, 0.041, pack=5)[1] == 0


def test_no_forecast_no_stock():
    assert orders(0, 0.0, 0.001) == (0, 0)
    assert orders(0, 0.0, 0.001, pack=2) == (0, 0)


def cost_aware_line(position, *, cost=1000.0, hold=0.05, pack=1, eol=pd.NaT):
    # 13 weeks of 1/13: shelf demand (13 weeks) is Poisson(1).
    fc = forecast_frame({("S1", "A"): [1 / 13] * 13})
    products = products_frame(unit_cost=[cost], pack_size=[pack], eol_date=[eol])
    pos = pd.DataFrame([{"store": "S1", "sku": "A", **position}])
    config = PolicyConfig(hold_per_kcny=hold, shelf_weeks=13)
    return plan_orders(fc, pos, as_of=MONDAY, products=products, config=config)


def test_plan_orders_in_the_cost_aware_mode():
    line = cost_aware_line({"on_hand": 1, "open_orders": 0}).iloc[0]
    assert line.shelf_forecast == pytest.approx(1.0)
    assert line.hold_bar == pytest.approx(0.05)  # 0.05 per 1,000 CNY x 1,000 CNY
    assert line.order_up_to == 3  # P(D>=3) = 0.080 >= 0.05 > P(D>=4)
    assert line.position == 1
    assert line.order_units == 2
    assert line.reason == "order"
    text = explain(cost_aware_line({"on_hand": 1})).iloc[0]
    assert "chance of at least 5.0%" in text
    assert "order up to 3" in text
    assert "Suggest 2." in text


def test_cost_aware_mode_rounds_to_packs_by_their_value_and_explains_it():
    # Pack of 2, cost 5,000 -> bar 0.25: units 1-2 mean 0.448 (bought), units 3-4 mean 0.050 (not).
    line = cost_aware_line({"on_hand": 0}, cost=5000.0, pack=2).iloc[0]
    assert line.order_up_to == 2  # P(D>=2) = 0.264 >= 0.25
    assert line.order_units == 2
    assert line.rounding == 0


def test_cost_aware_mode_does_not_reorder_end_of_life():
    line = cost_aware_line({"on_hand": 0}, eol=MONDAY + pd.Timedelta(days=3)).iloc[0]
    assert line.order_units == 0
    assert line.reason == "end_of_life"


def test_cost_aware_mode_needs_costs():
    fc = forecast_frame({("S1", "A"): [0.1] * 13})
    products = products_frame().drop(columns="unit_cost")
    with pytest.raises(ValueError, match="unit_cost"):
        plan_orders(fc, pd.DataFrame({"store": ["S1"], "sku": ["A"]}), as_of=MONDAY, products=products,
                    config=PolicyConfig(hold_per_kcny=0.01))


def test_hold_rate_must_be_positive():
    with pytest.raises(ValueError, match="hold_per_kcny"):
        PolicyConfig(hold_per_kcny=0.0)
