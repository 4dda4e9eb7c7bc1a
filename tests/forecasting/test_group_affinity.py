"""The hierarchical affinity of the store x SKU split (forecasting.shares): group levels, then the pair.

Answers computed by hand from the formulas in `shares.prior_strength` and `shares.affinities`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecasting
from forecasting import shares
from forecasting.panel import Panel
from tests.forecasting.synthetic import weeks


def test_prior_strength_by_hand():
    # Two groups, two halves (alternate blocks), every half expecting 10 units.
    # Group 0 sold 15 and 13, group 1 sold 5 and 7.
    sold = np.array([15.0, 13.0, 5.0, 7.0])
    expected = np.full(4, 10.0)
    half = np.array([0, 1, 0, 1])
    group = np.array([0, 0, 1, 1])
    # tau^2 = (5 x 3 / 20 + -5 x -3 / 20) / (100 / 20 + 100 / 20) = 1.5 / 10 = 0.15
    # c = ((15 x 10 - 13 x 10)^2 / 100 + (5 x 10 - 7 x 10)^2 / 100) / (28 + 12) = 8 / 40 = 0.2
    assert shares.prior_strength(sold, expected, half, group, 2) == pytest.approx(0.2 / 0.15)


def test_prior_strength_is_infinite_when_the_halves_disagree_or_nothing_is_grouped():
    expected = np.full(4, 10.0)
    half = np.array([0, 1, 0, 1])
    # Group 0 high then low, group 1 low then high: the covariance is negative, no lasting effect.
    sold = np.array([15.0, 5.0, 5.0, 15.0])
    assert shares.prior_strength(sold, expected, half, np.array([0, 0, 1, 1]), 2) == np.inf
    # Rows without a group (-1) are ignored: nothing left.
    assert shares.prior_strength(sold, expected, half, np.full(4, -1), 2) == np.inf
    # A group seen in one half only says nothing about the agreement.
    assert shares.prior_strength(sold[:1], expected[:1], half[:1], np.array([0]), 1) == np.inf


def test_prior_strength_rows_of_one_group_add_up():
    # The same group split into more rows (weeks) gives the same answer as its half totals.
    sold = np.array([15.0, 13.0, 5.0, 7.0])
    expected = np.full(4, 10.0)
    half = np.array([0, 1, 0, 1])
    group = np.array([0, 0, 1, 1])
    split = shares.prior_strength(np.repeat(sold / 2, 2), np.repeat(expected / 2, 2), np.repeat(half, 2),
                                  np.repeat(group, 2), 2)
    assert split == pytest.approx(shares.prior_strength(sold, expected, half, group, 2))


def _four_store_panel(units_per_week=(2, 1, 1, 0), n_weeks=8):
    """Stores 0 and 1 in province P, 2 and 3 in Q; SKU 0 (brand X) sells the same every week.

    Each week the network sells 4 units over 4 stores of size 1: rate 1 a week, each store
    expects 1 a week, 4 a half (weeks 0-3 and 4-7 are the two halves, BLOCK_WEEKS = 4).
    SKU 1 (brand X too) is in the catalogue but has no history: a launch.
    """
    n_stores = len(units_per_week)
    store = np.repeat(np.arange(n_stores), n_weeks)
    week = np.tile(np.arange(n_weeks), n_stores)
    sku = np.zeros(len(store), dtype=np.int64)
    units = np.repeat(np.asarray(units_per_week, dtype=float), n_weeks)
    pair_keys = pd.Index(np.arange(n_stores) * 2)  # store code x 2 SKUs + SKU 0
    panel = Panel(
        stores=pd.Index([f"S{i}" for i in range(n_stores)]),
        skus=pd.Index(["X1", "X2"]),
        weeks=weeks(n_weeks),
        store=store,
        sku=sku,
        week=week,
        units=units,
        in_stock=np.ones(len(store)),
        pair=store.copy(),
        pair_keys=pair_keys,
    )
    stores = pd.DataFrame({"province": ["P", "P", "Q", "Q"]}, index=panel.stores)
    products = pd.DataFrame({"brand": ["X", "X"], "category": ["audio", "audio"]}, index=panel.skus)
    return panel, stores, products


def test_group_level_by_hand_and_the_pair_level_left_out_when_not_clear():
    panel, stores, products = _four_store_panel()
    groups = shares.affinity_groups(panel.stores, panel.skus, stores, products)
    assert groups.levels == (("province", "brand"), ("province", "category"))
    size = np.ones(4)
    # Province x brand: P sold 12 + 12 against 8 + 8 expected, Q 4 + 4 against 8 + 8. The terms
    # (S_0 - E_0)(S_1 - E_1) / (E_0 + E_1) are 1 and 1, the weights E_0 E_1 / (E_0 + E_1) 4 and 4:
    # tau^2 = 2 / 8 = 0.25 with standard error 0 (both terms agree), and each half says the same
    # (S_0 E_1 - S_1 E_0 = 0): c = 0, no shrinkage. P: 24 / 16 = 1.5, Q: 8 / 16 = 0.5.
    # Province x category is the same grouping here and has nothing left: ratio 1.
    # Pairs against their group: store 0 sold 16 against 8 x 1.5 = 12 (8 and 6 a half), store 1
    # 8 / 12, store 2 8 / 4, store 3 0 / 4. Terms 4/12, 4/12, 4/4, 4/4 with weights 3, 3, 1, 1:
    # tau^2 = (8/3) / 8 = 1/3; deviations from tau^2 x weight -2/3, -2/3, 2/3, 2/3: standard error
    # sqrt(16/9) / 8 = 1/6, and 1/3 is not above 2 standard errors: measured (prior_units=None),
    # the pair level is left out and each pair keeps its group's affinity.
    pairs_store = np.array([0, 1, 2, 3, 0, 2])
    pairs_sku = np.array([0, 0, 0, 0, 1, 1])
    got = shares.affinities(panel, size, pairs_store, pairs_sku, groups, prior_units=None, half_life=1e12)
    # The launch (SKU 1, no history) gets its province x brand affinity too: 1.5 in P, 0.5 in Q.
    np.testing.assert_allclose(got, [1.5, 1.5, 0.5, 0.5, 1.5, 0.5])
    # With a pair prior of 0 units the pairs' own ratios count in full: 4/3, 2/3, 2, 0 times the
    # group, 2, 1, 1, 0: each store's sold / expected.
    got = shares.affinities(panel, size, pairs_store, pairs_sku, groups, prior_units=0.0, half_life=1e12)
    np.testing.assert_allclose(got, [2.0, 1.0, 1.0, 0.0, 1.5, 0.5], atol=1e-12)


def test_prior_strength_needs_two_standard_errors():
    # Four groups of E = 10 a half: deviations (S_0 - E_0, S_1 - E_1) of (3, 3), (3, 3), (-3, -3)
    # and (1, -1): terms 0.45, 0.45, 0.45, -0.05 with weights 5: tau^2 = 1.3 / 20 = 0.065;
    # deviations 0.125, 0.125, 0.125, -0.375: standard error sqrt(0.1875) / 20 = 0.0217, and
    # 0.065 > 2 x 0.0217: kept. c = (0 + 0 + 0 + (11 x 10 - 9 x 10)^2 / 100) / (26 + 26 + 14 + 20) = 4 / 86.
    expected = np.full(8, 10.0)
    half = np.tile([0, 1], 4)
    group = np.repeat(np.arange(4), 2)
    sold = np.array([13.0, 13.0, 13.0, 13.0, 7.0, 7.0, 11.0, 9.0])
    assert shares.prior_strength(sold, expected, half, group, 4) == pytest.approx((4 / 86) / 0.065)
    # Two groups that agree and two that disagree as much: tau^2 = (0.45 + 0.45 - 0.45 - 0.45) / 20 = 0.
    sold = np.array([13.0, 13.0, 13.0, 13.0, 13.0, 7.0, 7.0, 13.0])
    assert shares.prior_strength(sold, expected, half, group, 4) == np.inf


def test_without_attributes_there_is_no_group_level():
    panel, stores, products = _four_store_panel()
    for store_frame, product_frame in ((None, products), (stores, None), (stores.drop(columns="province"), products),
                                       (stores, products.drop(columns=["brand", "category"]))):
        groups = shares.affinity_groups(panel.stores, panel.skus, store_frame, product_frame)
        assert groups.levels == ()
        # A fixed pair prior of 4 units: (16 + 4) / (8 + 4), (8 + 4) / 12, (8 + 4) / 12, (0 + 4) / 12;
        # they average 1 over the expected units (8 each) already. A launch stays at 1.
        got = shares.affinities(panel, np.ones(4), np.array([0, 1, 2, 3, 0]), np.array([0, 0, 0, 0, 1]), groups,
                                prior_units=4.0, half_life=1e12)
        np.testing.assert_allclose(got, [20 / 12, 1.0, 1.0, 1 / 3, 1.0])


def test_group_and_pair_priors_shrink_toward_the_parent(monkeypatch):
    panel, stores, products = _four_store_panel()
    groups = shares.affinity_groups(panel.stores, panel.skus, stores, products, levels=(("province", "brand"),))
    # Province x brand shrunk with a prior of 8 units is (24 + 8) / (16 + 8) = 4/3 in P and
    # (8 + 8) / 24 = 2/3 in Q; then pairs with a prior of 4: store 0 (16 + 4) / (8 x 4/3 + 4),
    # store 1 (8 + 4) / (32/3 + 4), store 2 (8 + 4) / (16/3 + 4), store 3 (0 + 4) / (16/3 + 4).
    monkeypatch.setattr(shares, "prior_strength", lambda *args: 8.0)
    got = shares.affinities(panel, np.ones(4), np.arange(4), np.zeros(4, dtype=np.int64), groups,
                            prior_units=4.0, half_life=1e12, normalise=False)
    want = np.array([4 / 3 * 20 / (32 / 3 + 4), 4 / 3 * 12 / (32 / 3 + 4), 2 / 3 * 12 / (16 / 3 + 4),
                     2 / 3 * 4 / (16 / 3 + 4)])
    np.testing.assert_allclose(got, want)
    # Normalised, they average 1 over the expected units (8 each, equal): divided by their mean.
    got_norm = shares.affinities(panel, np.ones(4), np.arange(4), np.zeros(4, dtype=np.int64), groups,
                                 prior_units=4.0, half_life=1e12)
    assert got_norm.mean() == pytest.approx(1.0)


def test_affinities_average_one_over_each_skus_history():
    # Random sparse panel: store sizes, stockouts and a province x brand taste.
    rng = np.random.default_rng(3)
    n_stores, n_skus, n_weeks = 30, 4, 40
    size = rng.gamma(2.0, 0.5, n_stores)
    taste = rng.lognormal(0.0, 0.8, (3, 2))
    province = rng.integers(0, 3, n_stores)
    brand = np.array([0, 0, 1, 1])
    store, sku, week = (a.ravel() for a in np.meshgrid(np.arange(n_stores), np.arange(n_skus), np.arange(n_weeks),
                                                       indexing="ij"))
    in_stock = np.where(rng.random(len(store)) < 0.1, 0.5, 1.0)
    units = rng.poisson(0.3 * size[store] * taste[province[store], brand[sku]] * in_stock).astype(float)
    pair = store * n_skus + sku
    panel = Panel(pd.Index([f"S{i}" for i in range(n_stores)]), pd.Index([f"K{j}" for j in range(n_skus)]),
                  weeks(n_weeks), store, sku, week, units, in_stock, pair, pd.Index(np.arange(n_stores * n_skus)))
    stores = pd.DataFrame({"province": province.astype(str)}, index=panel.stores)
    products = pd.DataFrame({"brand": brand.astype(str)}, index=panel.skus)
    groups = shares.affinity_groups(panel.stores, panel.skus, stores, products)
    pairs_store, pairs_sku = np.repeat(np.arange(n_stores), n_skus), np.tile(np.arange(n_skus), n_stores)
    got = shares.affinities(panel, size, pairs_store, pairs_sku, groups)
    # Expected units of each pair, recency-weighted as in shares.affinities (half-life 52 weeks).
    units_sw, exposure = shares.sku_rates(panel, size)
    rate = units_sw / exposure
    weight = 0.5 ** ((n_weeks - 1 - week) / 52.0)
    expected = np.bincount(pair, rate[sku, week] * size[store] * in_stock * weight, n_stores * n_skus)
    for j in range(n_skus):
        mine = pairs_sku == j
        assert np.sum(expected[mine] * got[mine]) == pytest.approx(np.sum(expected[mine]))
    # The taste is found: the province x brand cells' mean affinity follows the true taste.
    cell = province[pairs_store] * 2 + brand[pairs_sku]
    found = np.bincount(cell, expected * got) / np.bincount(cell, expected)
    assert np.corrcoef(np.log(found), np.log(taste.ravel()))[0, 1] > 0.9


def test_forecast_splits_a_provinces_taste_and_keeps_the_sku_total():
    # Two provinces of 40 stores with opposite taste for two brands; every store the same size,
    # a few units per store and SKU in a year: too few for a pair's own ratio, plenty for a province's.
    n_weeks, per_province = 60, 40
    rng = np.random.default_rng(5)
    stores = pd.DataFrame({"province": ["P"] * per_province + ["Q"] * per_province},
                          index=[f"S{i:02d}" for i in range(2 * per_province)])
    products = pd.DataFrame({"brand": ["A", "B"], "category": ["audio", "audio"]}, index=["A1", "B1"])
    taste = {("P", "A"): 2.0, ("P", "B"): 0.5, ("Q", "A"): 0.5, ("Q", "B"): 2.0}
    frames = []
    for store, prov in stores["province"].items():
        for sku, brand in products["brand"].items():
            frames.append(pd.DataFrame({"store": store, "sku": sku, "week": weeks(n_weeks),
                                        "units": rng.poisson(0.05 * taste[(prov, brand)], n_weeks)}))
    sales = pd.concat(frames, ignore_index=True)
    sales = sales[sales["units"] > 0]  # only the weeks with sales: the contract's complete frame
    no_holidays = pd.DataFrame({"date": pd.to_datetime([]), "kind": []})
    assortment = pd.MultiIndex.from_product([stores.index, products.index], names=["store", "sku"]).to_frame(
        index=False)
    out = forecasting.forecast(sales, horizon=4, products=products, stores=stores, assortment=assortment,
                               holidays=no_holidays, start=weeks(n_weeks + 1)[-1])
    per_store = out.groupby([out["store"].map(stores["province"]), "sku"])["mean"].sum() / 4 / per_province
    assert per_store[("P", "A1")] / per_store[("Q", "A1")] > 3.0
    # Each store's weekly mean within 20% of its province's true 0.1 or 0.025 a week.
    assert per_store[("P", "A1")] == pytest.approx(0.1, rel=0.2)
    assert per_store[("Q", "A1")] == pytest.approx(0.025, rel=0.2)
    assert per_store[("P", "B1")] == pytest.approx(0.025, rel=0.2)
    assert per_store[("Q", "B1")] == pytest.approx(0.1, rel=0.2)
    # Without the province the split is flatter (each pair's own few units are shrunk toward 1):
    # P stores get about twice the Q stores' forecast of A1 instead of four times.
    flat = forecasting.forecast(sales, horizon=4, products=products, stores=stores.drop(columns="province"),
                                assortment=assortment, holidays=no_holidays, start=weeks(n_weeks + 1)[-1])
    per_store = flat.groupby([flat["store"].map(stores["province"]), "sku"])["mean"].sum() / 4 / per_province
    assert per_store[("P", "A1")] / per_store[("Q", "A1")] < 3.0
    # The SKU's total is the same with and without the province level (the split only moves units).
    assert out.groupby("sku")["mean"].sum().to_numpy() == pytest.approx(
        flat.groupby("sku")["mean"].sum().to_numpy(), rel=0.02)
