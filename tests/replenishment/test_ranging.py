"""The range decision by hand (forecasting.ranging): stock, show or none per store x SKU.

Default settings: holding 0.25 a year (0.25 / 52 = 0.0048077 of the cost a week), display 3 CNY a week,
demo markdown 0.1 of the cost over L = min(max(weeks to end of life, 13), 52) weeks, delivery 40 CNY,
conversion 0.6, markdown 0.3 on sellable units left at end of life, cover 2 weeks, service 0.95.
Demand is Poisson (no phi column).
"""

import math

import numpy as np
import pandas as pd
import pytest

from forecasting.ranging import REASONS, RangeSettings, decide, values


def cell(**kw):
    row = {"store": "S1", "sku": "A", "brand": "B", "market": "CN", "tier": 2, "weekly_mean": 1.0,
           "unit_cost": 1000.0, "price": 1500.0, "weeks_since_launch": 50.0, "weeks_to_eol": math.inf,
           "current": "stock"}
    row.update(kw)
    return row


def frame(*rows):
    return pd.DataFrame(list(rows))


def test_a_fast_mover_is_stocked():
    # m = 1 a week, S = 3 units, margin g = 500. Cover demand D ~ Poisson(2):
    # P(D>=1) = 1 - e^-2 = 0.864665, P(D>=2) = 1 - 3 e^-2 = 0.593994, P(D>=3) = 1 - 5 e^-2 = 0.323324;
    # E[(D-3)+] = 2 - 1.781983 = 0.218017, shelf fill f = 1 - 0.218017 / 2 = 0.890991.
    # stock = 1 x (0.890991 x 500 + 0.109009 x 0.6 x (500 - 40)) - 0.0048077 x 1000 x 3 - 3 (its display slot)
    #       = 445.4957 + 30.0865 - 14.4231 - 3 = 458.159
    # show  = 1 x 0.6 x 460 - 3 - 0.1 x 1000 / 52 = 276 - 3 - 1.9231 = 271.077
    out = decide(frame(cell(stock_units=3, current="none")))
    row = out.iloc[0]
    assert row["shelf_fill"] == pytest.approx(0.890991, abs=1e-6)
    assert row["value_stock"] == pytest.approx(458.159, abs=1e-3)
    assert row["value_show"] == pytest.approx(271.077, abs=1e-3)
    assert (row["decision"], row["reason"], bool(row["changed"])) == ("stock", "fast_mover", True)


def test_without_stock_units_the_level_is_the_95_percent_quantile_of_cover_demand():
    # m = 0.5: cover demand Poisson(1), P(D<=2) = 0.9197 < 0.95 <= P(D<=3) = 0.9810: S = 3.
    # m = 0.01: P(D=0) = e^-0.02 = 0.980 >= 0.95, so the quantile is 0 and one unit is held.
    out = values(frame(cell(weekly_mean=0.5), cell(weekly_mean=0.01)))
    assert list(out["stock_units"]) == [3, 1]


def test_a_slow_expensive_model_is_shown_when_its_colours_share_a_demo_unit():
    # Three colours of model X, each m = 0.01 a week, cost 3,000, price 4,000 (g = 1,000), S = 1.
    # Cover demand Poisson(0.02): E[(D-1)+] = 0.02 - (1 - e^-0.02) = 0.000199, f = 0.990066.
    # stock = 0.01 x (0.990066 x 1000 + 0.009934 x 0.6 x 960) - 0.0048077 x 3000 - 3 (slot)
    #       = 0.01 x (990.066 + 5.722) - 14.4231 - 3 = -7.465    (a unit a year does not pay its holding)
    # ordered = 0.01 x 0.6 x 960 = 5.76 a week per colour; the demo unit 0.1 x 3000 / 52 = 5.769 a week.
    # Alone: show = 5.76 - 3 - 5.769 = -3.009 (none); three colours share the demo: 5.76 - 3 - 1.923 = 0.837.
    slow = {"weekly_mean": 0.01, "unit_cost": 3000.0, "price": 4000.0, "model": "X"}
    out = decide(frame(*(cell(sku=f"X-{c}", **slow) for c in "RGB")))
    assert list(out["decision"]) == ["show"] * 3
    assert list(out["reason"]) == ["sells_to_order"] * 3
    assert out["value_stock"].to_numpy() == pytest.approx([-7.465] * 3, abs=1e-3)
    assert out["value_show"].to_numpy() == pytest.approx([0.837] * 3, abs=1e-3)
    alone = decide(frame(cell(sku="X-R", **slow))).iloc[0]
    assert alone["value_show"] == pytest.approx(-3.009, abs=1e-3)
    assert (alone["decision"], alone["reason"]) == ("none", "low_demand")


def test_a_colour_of_a_stocked_model_is_shown_without_a_demo_unit():
    # X-R sells 1 a week (stocked); X-G at 0.01 a week: show = 5.76 - 3 = 2.76 (the stocked units are on display).
    out = decide(frame(cell(sku="X-R", model="X", unit_cost=3000.0, price=4000.0),
                       cell(sku="X-G", model="X", weekly_mean=0.01, unit_cost=3000.0, price=4000.0)))
    assert list(out["decision"]) == ["stock", "show"]
    assert out["value_show"].iloc[1] == pytest.approx(2.76, abs=1e-9)


def test_a_new_launch_is_seeded_where_it_can_sell():
    # m = 0.02, cost 3,000, price 3,600 (g = 600), launched 3 weeks ago. Poisson(0.04): E[(D-1)+] = 0.000789,
    # f = 0.980266. stock = 0.02 x (0.980266 x 600 + 0.019734 x 0.6 x 560) - 14.4231 - 3 = 11.896 - 17.423 = -5.527;
    # show = 0.02 x 0.6 x 560 - 3 - 5.769 = -2.049. Both lose money, but 0.02 x 13 = 0.26 units over the
    # horizon >= 0.25: the launch is shown (show beats stock).
    launch = {"weekly_mean": 0.02, "unit_cost": 3000.0, "price": 3600.0, "weeks_since_launch": 3.0, "current": "none"}
    row = decide(frame(cell(**launch))).iloc[0]
    assert row["value_stock"] == pytest.approx(-5.527, abs=1e-3)
    assert row["value_show"] == pytest.approx(-2.049, abs=1e-3)
    assert (row["decision"], row["reason"]) == ("show", "launch_seeding")
    # 0.01 a week: 0.13 units in 13 weeks < 0.25, it cannot sell there: none.
    quiet = decide(frame(cell(**{**launch, "weekly_mean": 0.01}))).iloc[0]
    assert (quiet["decision"], quiet["reason"]) == ("none", "low_demand")
    # After 8 weeks it is no longer a launch: none.
    old = decide(frame(cell(**{**launch, "weeks_since_launch": 8.0}))).iloc[0]
    assert old["decision"] == "none"


def test_a_model_near_end_of_life_gets_no_new_stock():
    # The fast mover of the first test, 3 weeks before its end of life (<= 4): D_w ~ Poisson(3),
    # P(D>=1) = 0.950213, P(D>=2) = 1 - 4 e^-3 = 0.800852, P(D>=3) = 1 - 8.5 e^-3 = 0.576810;
    # E[(3-D)+] = 3 - 2.327875 = 0.672125 units left, marked down 0.3 x 1000 each, over 3 weeks: 67.2125 a week.
    # stock = 458.159 - 67.2125 = 390.946, still the best option, but no new stock: the cell shows what it
    # has and sells to order, its value 276 - 3 = 273 (no new demo unit).
    stocked = decide(frame(cell(stock_units=3, weeks_to_eol=3.0))).iloc[0]
    assert stocked["value_stock"] == pytest.approx(390.946, abs=1e-3)
    assert (stocked["decision"], stocked["reason"]) == ("show", "end_of_life")
    assert stocked["value"] == pytest.approx(273.0)
    # Not displayed before: nothing new (no stock, no demo unit).
    new = decide(frame(cell(stock_units=3, weeks_to_eol=3.0, current="none"))).iloc[0]
    assert (new["decision"], new["reason"]) == ("none", "end_of_life")
    # Past its end of life: none.
    assert decide(frame(cell(weeks_to_eol=0.0))).iloc[0]["decision"] == "none"


def test_a_store_at_display_capacity_drops_its_lowest_value_cell():
    # Three fast movers (m = 1, S = 3, f = 0.890991, holding 14.4231, slot 3) with margins 500, 400, 300:
    # 458.159; 0.890991 x 400 + 0.109009 x 0.6 x 360 - 14.4231 - 3 = 356.396 + 23.546 - 17.4231 = 362.519;
    # 0.890991 x 300 + 0.109009 x 0.6 x 260 - 14.4231 - 3 = 267.297 + 17.005 - 17.4231 = 266.879.
    # Two slots: the 266.879 cell goes.
    cells = frame(cell(sku="A", stock_units=3), cell(sku="B", price=1400.0, stock_units=3),
                  cell(sku="C", price=1300.0, stock_units=3), cell(store="S2", sku="C", price=1300.0, stock_units=3))
    out = decide(cells, capacity=pd.Series({"S1": 2, "S2": 5}))
    assert out["value_stock"].to_numpy()[:3] == pytest.approx([458.159, 362.519, 266.879], abs=1e-3)
    assert list(out["decision"]) == ["stock", "stock", "none", "stock"]
    assert out["reason"].iloc[2] == "display_capacity"
    assert bool(out["changed"].iloc[2]) and not out["changed"].iloc[3]


def test_the_brand_minimum_shows_the_best_hidden_models_and_survives_the_capacity_cut():
    # Brand B needs two models in a tier-2 store. Three slow models at cost 3,000, price 4,000, each alone
    # worth nothing: show = m x 576 - 3 - 5.769 is -1.857 (M1, m = 0.012), -4.161 (M2, 0.008), -6.465 (M3, 0.004);
    # stock = m x (f x 1000 + (1 - f) x 576) - 14.423 - 3 is below that (M1: 0.012 x 994.9 - 17.423 = -5.48).
    # The two best, M1 and M2, are shown. With two slots they stay and the other brand's fast mover F goes:
    # the brand's display minimum comes before value per slot.
    dear = {"unit_cost": 3000.0, "price": 4000.0, "current": "none"}
    slow = [cell(sku=f"M{i}", weekly_mean=mu, **dear) for i, mu in ((1, 0.012), (2, 0.008), (3, 0.004))]
    cells = frame(*slow, cell(sku="F", brand="C", stock_units=3))
    minimum = pd.DataFrame({"brand": ["B"], "tier": [2], "models": [2]})
    out = decide(cells, brand_minimum=minimum)
    assert out["value_show"].to_numpy()[:3] == pytest.approx([-1.857, -4.161, -6.465], abs=1e-3)
    assert list(out["decision"]) == ["show", "show", "none", "stock"]
    assert list(out["reason"][:3]) == ["brand_requirement", "brand_requirement", "low_demand"]
    cut = decide(cells, brand_minimum=minimum, capacity=pd.Series({"S1": 2}))
    assert list(cut["decision"]) == ["show", "show", "none", "none"]
    assert cut["reason"].iloc[3] == "display_capacity"
    # A tier the table does not name has no minimum.
    assert list(decide(cells.assign(tier=3), brand_minimum=minimum)["decision"]) == ["none", "none", "none", "stock"]


def test_conversion_by_market_and_tier():
    settings = RangeSettings(conversion={("HK", 1): 0.9, "CN": 0.3, "*": 0.5})
    out = values(frame(cell(market="HK", tier=1), cell(market="HK", tier=2), cell(market="CN", tier=1)), settings)
    assert list(out["conversion"]) == [0.9, 0.5, 0.3]
    # show = m c (g - d) - 3 - 1.923: 0.9 x 460 = 414 -> 409.077
    assert out["value_show"].iloc[0] == pytest.approx(414 - 3 - 100 / 52)


def test_serve_value_raises_what_serving_a_unit_is_worth():
    # A lone slow colour at 0.01 a week: +2,000 CNY per unit served makes show = 0.01 x 0.6 x (960 + 2000)
    # - 3 - 5.769 = 8.991 and stock = 0.01 x (0.990066 x 3000 + 0.009934 x 0.6 x 2960) - 14.4231 - 3 = 12.455.
    row = decide(frame(cell(weekly_mean=0.01, unit_cost=3000.0, price=4000.0)),
                 RangeSettings(serve_value=2000.0)).iloc[0]
    assert row["value_show"] == pytest.approx(8.991, abs=1e-3)
    assert row["value_stock"] == pytest.approx(12.455, abs=1e-3)
    assert row["decision"] == "stock"


def test_reasons_come_from_the_documented_set_and_bad_input_is_refused():
    rng = np.random.default_rng(1)
    cells = frame(*(cell(sku=f"K{i}", weekly_mean=float(m), weeks_to_eol=float(e), weeks_since_launch=float(w))
                    for i, (m, e, w) in enumerate(zip(rng.exponential(0.05, 50), rng.integers(0, 60, 50),
                                                      rng.integers(0, 30, 50), strict=True))))
    out = decide(cells, capacity=pd.Series({"S1": 10}))
    assert set(out["reason"]) <= set(REASONS)
    assert (out["decision"] != "none").sum() <= 10
    with pytest.raises(ValueError, match="lack"):
        decide(cells.drop(columns=["price"]))
    with pytest.raises(ValueError, match="current"):
        decide(cells.assign(current="maybe"))
    with pytest.raises(ValueError):
        RangeSettings(conversion=1.5)


def test_stickiness_keeps_the_current_option_when_the_forecast_wobbles():
    # The lone slow colour of the serve-value test (m = 0.01, cost 3,000, price 4,000): stock -7.465, show -3.009:
    # none. Stocked now with stickiness 8: stock counts -7.465 + 8 = 0.535 > 0 and beats show: it stays stocked.
    # (Stickiness 5 is not enough: -2.465 < 0.)
    slow = {"weekly_mean": 0.01, "unit_cost": 3000.0, "price": 4000.0}
    assert decide(frame(cell(**slow))).iloc[0]["decision"] == "none"
    kept = decide(frame(cell(**slow)), RangeSettings(stickiness=8.0)).iloc[0]
    assert (kept["decision"], bool(kept["changed"])) == ("stock", False)
    assert decide(frame(cell(**slow)), RangeSettings(stickiness=5.0)).iloc[0]["decision"] == "none"
    # From none, stickiness changes nothing: the cell stays out.
    assert decide(frame(cell(current="none", **slow)), RangeSettings(stickiness=8.0)).iloc[0]["decision"] == "none"


def test_a_stock_level_of_zero_is_a_carried_sku_whose_customers_order():
    # The lone slow colour (m = 0.01, cost 3,000, price 4,000) with the policy's level S = 0 units: shelf fill
    # f = 0, no holding, every customer offered to order: stock = 0.01 x 0.6 x (1000 - 40) - 3 = 5.76 - 3 = 2.76,
    # better than showing it with a demo unit of its own (-3.009) and than none: stocked at level 0.
    row = decide(frame(cell(weekly_mean=0.01, unit_cost=3000.0, price=4000.0, stock_units=0))).iloc[0]
    assert (row["stock_units"], row["shelf_fill"]) == (0, 0.0)
    assert row["value_stock"] == pytest.approx(2.76, abs=1e-9)
    assert row["decision"] == "stock"


def test_the_output_keeps_the_callers_index():
    cells = frame(cell(sku="A"), cell(sku="B", weekly_mean=0.0)).set_index(pd.Index([10, 20]))
    out = decide(cells)
    assert list(out.index) == [10, 20] and list(out["sku"]) == ["A", "B"]
    assert list(out["decision"]) == ["stock", "none"]
