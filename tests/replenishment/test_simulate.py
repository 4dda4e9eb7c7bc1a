"""The simulation's comparison arithmetic and its two policies on a tiny hand-made world."""

import numpy as np
import pandas as pd
import pytest

from forecasting import simulate as sim

GRID = [  # min/max settings as the grid reports them
    {"fill_rate": 0.95, "turnover": 0.24},
    {"fill_rate": 0.96, "turnover": 0.22},
    {"fill_rate": 0.955, "turnover": 0.20},  # dominated by the 0.96 point
    {"fill_rate": 0.98, "turnover": 0.12},
]


def test_min_max_is_tuned_to_the_best_turnover_reaching_the_fill_rate():
    assert sim.tune_minmax(GRID, 0.955)["turnover"] == 0.22
    assert sim.tune_minmax(GRID, 0.95)["turnover"] == 0.24
    assert sim.tune_minmax(GRID, 0.99) is None


def test_frontier_is_interpolated_between_the_points_around_the_fill_rate():
    # Frontier: (0.95, 0.24), (0.955, 0.22: the best at 0.955 or more), (0.96, 0.22), (0.98, 0.12).
    assert sim.frontier_turnover(GRID, 0.96) == pytest.approx(0.22)
    assert sim.frontier_turnover(GRID, 0.97) == pytest.approx(0.17)  # halfway from 0.22 to 0.12
    assert sim.frontier_turnover(GRID, 0.9525) == pytest.approx(0.23)  # halfway from 0.24 to 0.22
    assert sim.frontier_turnover(GRID, 0.94) == pytest.approx(0.24)  # below the grid: its best point
    assert sim.frontier_turnover(GRID, 0.99) is None


def test_compare_reports_both_ratios():
    row = sim.compare([{"hold_per_kcny": 0.01, "fill_rate": 0.97, "turnover": 0.255}], GRID)[0]
    assert row["minmax_turnover"] == 0.12  # the only setting reaching 0.97
    assert row["ratio_tuned"] == pytest.approx(2.125)
    assert row["ratio_frontier"] == pytest.approx(1.5)  # 0.255 / 0.17


def tiny_world(demand, *, cost=1000.0, pack=1):
    demand = np.asarray(demand, dtype=np.int64)
    n, weeks = demand.shape
    products = pd.DataFrame({"sku": ["A"], "unit_cost": [cost], "list_price": [2 * cost], "pack_size": [pack],
                             "eol_date": [pd.NaT]})
    stores = pd.DataFrame({"store": [f"S{i}" for i in range(n)], "city": ["X"] * n})
    return sim.World(
        weeks=pd.date_range("2026-01-05", periods=weeks, freq="7D"), store=stores["store"].to_numpy(),
        sku=np.array(["A"] * n, dtype=object), demand=demand, active=np.ones((n, weeks), bool),
        orderable=np.ones((n, weeks), bool), history=np.zeros((n, sim.TRAILING), np.int64), products=products,
        stores=stores, pack=np.full(n, pack), cost=np.full(n, cost), recorded_units=int(demand.sum()))


def flat_covers(world, shelf_mean):
    n, weeks = world.demand.shape
    zeros = np.zeros((n, weeks))
    return sim.Covers(zeros, zeros, np.broadcast_to(np.asarray(shelf_mean, float)[:, None], (n, weeks)).copy(),
                      zeros.copy(), seconds=0.0, origins=1)


def test_ours_holds_what_the_rule_says_and_reorders_after_a_sale():
    # Shelf demand Poisson(1) at 1,000 CNY and 0.05 per 1,000 CNY: hold 3 units (see test_cost_aware).
    world = tiny_world([[0, 2, 0, 0]])
    ledger = sim.run_ours(world, flat_covers(world, [1.0]), 0.05)
    # Week 0 starts at 3; week 1 sells 2 (1 left); week 2 reviews before selling and orders 2, which
    # arrive in week 3 (lead time one week).
    assert list(ledger.cols["closing"][0]) == [3, 1, 1, 3]
    assert list(ledger.cols["received"][0]) == [0, 0, 0, 2]
    k = sim.measure(world, ledger)
    assert k["fill_rate"] == 1.0
    assert k["avg_inventory_units"] == pytest.approx(2.0)
    assert k["turnover"] == pytest.approx(2 * 1000 / 2000 * 52 / 4, abs=1e-3)  # annualised from 4 weeks


def test_ours_leaves_a_cell_empty_when_its_unit_would_not_clear_the_bar():
    world = tiny_world([[1, 0, 0, 0], [0, 1, 0, 0]])
    # S0's unit sells within the shelf horizon with 0.18 (mean 0.2), S1's with 0.01 (mean 0.01):
    # at a bar of 0.05 only S0 is stocked, so S1's sale is lost.
    ledger = sim.run_ours(world, flat_covers(world, [0.2, 0.01]), 0.05)
    assert list(ledger.cols["sold"].sum(1)) == [1, 0]
    assert sim.measure(world, ledger)["fill_rate"] == 0.5


def test_min_max_reorders_the_empty_shelf_up_to_its_floor():
    world = tiny_world([[1, 0, 1, 0]])
    ledger = sim.run_minmax(world, min_weeks=0, max_weeks=4, floor=(0, 1))
    # One unit from the start; sold in week 0, reordered in week 1 (arrives week 2), sold again in week 2.
    assert list(ledger.cols["closing"][0]) == [0, 0, 0, 0]
    assert list(ledger.cols["received"][0]) == [0, 0, 1, 0]
    assert list(ledger.cols["sold"][0]) == [1, 0, 1, 0]


def test_a_delisted_store_sends_its_unit_to_a_same_city_store_instead_of_a_dc_order():
    world = tiny_world([[0, 0, 0, 0], [0, 0, 0, 0]])
    world.orderable[:] = [[True, False, False, False], [False, True, True, True]]  # S0 delisted, S1 listed, week 1
    covers = flat_covers(world, [0.0, 0.0])
    covers.sell_mean[0, 0] = 1.0  # S0 holds one unit at the start (P(D>=1) = 0.63 >= 0.5 > P(D>=2) = 0.26)
    covers.sell_mean[1, 1:] = 1.0  # S1 wants one unit from week 1
    ledger = sim.run_ours(world, covers, 0.5, transfer_cost=40.0)
    # Week 1: S0's unit (chance 0 to sell there) goes to S1 (chance 0.63, margin 1,000 CNY > 40 CNY cost);
    # S1 orders nothing from the DC and receives the unit in week 2.
    assert ledger.transferred == 1
    assert list(ledger.cols["closing"][0]) == [1, 0, 0, 0]
    assert list(ledger.cols["received"][1]) == [0, 0, 1, 0]
    assert ledger.cols["closing"][1, 3] == 1
    without = sim.run_ours(world, covers, 0.5)
    assert without.transferred == 0
    assert list(without.cols["closing"][0]) == [1, 1, 1, 1]  # without transfers the unit stays where it cannot sell


# The network replay (forecasting.simulation.network): DCs, demo units, customer orders.
from forecasting.simulation.network import Costs, build_net, measure_network, run_network  # noqa: E402


def network_world(demand, *, cost=3000.0, moq=1, lead=2):
    world = tiny_world(demand, cost=cost)
    world.sku = np.array(["X-R"] * len(world.store), dtype=object)
    world.products = pd.DataFrame({"sku": ["X-R"], "brand": ["B"], "unit_cost": [cost], "list_price": [2 * cost],
                                   "pack_size": [1], "eol_date": [pd.NaT], "lead_time_weeks": [lead], "moq": [moq]})
    return world


def test_a_show_cell_sells_to_order_from_the_dc_and_its_demo_unit_is_inventory():
    # One store, SKU X-R (cost 3,000, list 6,000), forecast 0.65 units in 13 weeks (m = 0.05 a week), every
    # customer accepts waiting (conversion 1). The range decision: the stock option holds the cost-aware level,
    # 3 units (bar 0.0045 x 3 = 0.0135; Poisson(0.65): P(D>=3) = 0.028 clears it, P(D>=4) = 0.0045 does not),
    # so stock = 0.05 x 3000 (shelf fill ~1) - 0.25 / 52 x 3000 x 3 - 3 (slot) = 150 - 46.27 = 103.7, against
    # show = 0.05 x 1 x (3000 - 40) - 3 - 0.1 x 3000 / 52 = 148 - 3 - 5.77 = 139.2: show.
    # The DC holds the 95 % quantile of 0.05 x (2 + 1 + 1) = 0.2 units: 1 unit. Weeks 1 and 3 each sell one
    # unit to order from the DC (it rebuys one, arriving two weeks later): served 2 of 2, none from the shelf.
    world = network_world([[0, 1, 0, 1]])
    covers = flat_covers(world, [0.65])
    net = build_net(world)
    books = run_network(world, covers, net, policy="ranging", costs=Costs(conversion=1.0), hold=0.0045)
    k = measure_network(world, net, books)
    assert books.decisions[0]["show"] == 1
    assert (k["demand_served"], k["fill_rate"], k["units_to_order"]) == (1.0, 0.0, 2)
    assert k["delivery_cost"] == 80
    # Inventory each week: the demo unit (3,000) + one unit at the DC or on its way to it (3,000).
    assert k["inventory_demo"] == 3000 and k["inventory_dc"] + k["inventory_transit"] == 3000
    assert k["avg_inventory_cost"] == 6000
    # Margin 2 x 3,000 - delivery 80 - display 4 weeks x 3 CNY.
    assert k["gross_margin"] == 6000 - 80 - 12
    assert k["turnover"] == pytest.approx(2 * 3000 / 6000 * 52 / 4, abs=1e-3)


def test_a_stocked_cell_at_level_zero_sells_to_order_without_a_demo_unit():
    # The same cell with hold 0.5 per 1,000 CNY: the bar min(3000 x 0.5 / 1000, 1) ~ 1 keeps no unit, the
    # cost-aware level is 0. Stock at level 0 = 0.05 x 1 x (3000 - 40) - 3 = 145 (fill 0, no holding), show =
    # 145 - 5.77 (its own demo unit): stocked, no unit on the shelf, no demo unit; the two customers order
    # from the DC (conversion 1): served 2 of 2, 80 CNY of delivery, only the DC's unit as inventory.
    world = network_world([[0, 1, 0, 1]])
    net = build_net(world)
    books = run_network(world, flat_covers(world, [0.65]), net, policy="ranging", costs=Costs(conversion=1.0),
                        hold=0.5)
    k = measure_network(world, net, books)
    assert books.decisions[0]["stock"] == 1
    assert (k["demand_served"], k["fill_rate"], k["units_to_order"]) == (1.0, 0.0, 2)
    assert (k["inventory_stores"], k["inventory_demo"], k["inventory_dc"] + k["inventory_transit"]) == (0, 0, 3000)
    assert k["gross_margin"] == 6000 - 80 - 12


def test_ranging_that_stocks_every_cell_serves_at_least_what_ours_serves():
    # Every cell stocked (a large serve value: at conversion 0.6 the shelf's 40 % more customers outweigh its
    # holding) at the same hold: the same shelf as ours, plus the customers the shelf misses offered to order. Two stores of the same SKU, a unit a week in one, none in the other.
    world = network_world([[1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 0, 0]])
    covers = flat_covers(world, [13.0, 0.2])
    net = build_net(world)
    ours = measure_network(world, net, run_network(world, covers, net, policy="ours", hold=0.0045))
    books = run_network(world, covers, net, policy="ranging", hold=0.0045, serve_value=1e6)  # conversion 0.6
    ranging = measure_network(world, net, books)
    assert books.decisions[0]["stock"] == 2
    assert ranging["units_shelf"] == ours["units_shelf"]
    assert ranging["demand_served"] >= ours["demand_served"]
    assert ranging["inventory_stores"] == ours["inventory_stores"]


def test_a_cell_out_of_the_range_loses_its_demand():
    world = network_world([[0, 1, 0, 1]])
    net = build_net(world)
    books = run_network(world, flat_covers(world, [0.0]), net, policy="ranging", costs=Costs(conversion=1.0))
    k = measure_network(world, net, books)
    assert books.decisions[0]["none"] == 1
    assert (k["demand_served"], k["units_to_order"], k["avg_inventory_cost"]) == (0.0, 0, 0)


def test_min_max_dc_buys_at_least_the_moq_and_today_s_stores_do_not_sell_to_order():
    # Two stores selling a unit every week; the DC starts empty (no history) and learns the orders' average:
    # each purchase is at least the MOQ of 10. The shelves start at their floor of one unit.
    world = network_world([[1] * 8, [1] * 8], moq=10)
    net = build_net(world)
    books = run_network(world, None, net, policy="minmax", minmax=(0.0, 4.0, (0, 1)))
    k = measure_network(world, net, books)
    assert books.dc_purchases >= 1 and books.dc_bought >= 10 * books.dc_purchases
    assert k["units_to_order"] == 0 and k["demand_served"] == k["fill_rate"] < 1
    assert k["inventory_dc"] > 0


def test_the_reported_point_is_the_lowest_reaching_the_target_and_json_has_the_three_policies():
    from forecasting.simulation import sweeps

    row = {"fill_rate": 0.9, "gross_margin": 1, "avg_inventory_cost": 2}
    ours = [{**row, "demand_served": s, "turnover": t} for s, t in ((0.94, 0.30), (0.955, 0.25), (0.97, 0.20))]
    minmax = [{**row, "demand_served": s, "turnover": t} for s, t in ((0.951, 0.15), (0.96, 0.16), (0.98, 0.09))]
    ranging = [{**row, "demand_served": s, "turnover": t, "conversion": c, "delivery": 40.0, "serve_value": v}
               for s, t, c, v in ((0.952, 0.21, 0.6, 1.0), (0.97, 0.18, 0.6, 2.0), (0.951, 0.5, 0.9, 1.0))]
    points = sweeps.report_points({"minmax": minmax, "ours": ours, "ranging": ranging}, 0.95)
    assert points["ours"]["turnover"] == 0.25  # the lowest demand served at or above 0.95
    assert points["minmax"]["turnover"] == 0.16  # min/max tuned: its best turnover reaching 0.95
    assert points["ranging"]["turnover"] == 0.21  # at conversion 0.6 only, its best turnover reaching 0.95
    assert sweeps.lowest_reaching(ours, 0.99)["demand_served"] == 0.97  # none reaches: the one serving most
    out = sweeps.network_json({"points": points})
    assert set(out) == {"minmax", "ours", "ranging"}
    assert all(set(v) == {"demand_served", "fill_rate", "turnover", "gross_margin", "avg_inventory_cost"}
               for v in out.values())
