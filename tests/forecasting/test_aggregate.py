"""The aggregation helper sums coherently and recomputes quantiles for the sum."""

import numpy as np
import pytest

import forecasting
from tests.forecasting.synthetic import world


@pytest.fixture(scope="module")
def fitted():
    sales, products, stores = world(n_stores=30, seed=2)
    return forecasting.forecast(sales, horizon=6, products=products, stores=stores), products, stores


@pytest.mark.parametrize("level", ["sku_province", "sku_network", "brand_network"])
def test_aggregate_means_add_up_to_the_store_forecasts(fitted, level):
    frame, products, stores = fitted
    out = forecasting.aggregate(frame, level, products=products, stores=stores)
    assert out["mean"].sum() == pytest.approx(frame["mean"].sum())
    per_week = out.groupby("week")["mean"].sum()
    np.testing.assert_allclose(per_week, frame.groupby("week")["mean"].sum())


def test_sku_network_equals_sum_of_provinces(fitted):
    frame, products, stores = fitted
    provinces = forecasting.aggregate(frame, "sku_province", stores=stores)
    network = forecasting.aggregate(frame, "sku_network")
    summed = provinces.groupby(["sku", "week"])["mean"].sum().reset_index()
    np.testing.assert_allclose(summed["mean"], network["mean"])


def test_aggregate_quantiles_are_ordered_and_wider_than_poisson(fitted):
    frame, products, _ = fitted
    out = forecasting.aggregate(frame, "brand_network", products=products)
    q = out[["p50", "p80", "p95"]].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()
    assert (out["p95"] >= out["mean"]).all()


def test_aggregate_refuses_a_level_without_its_attribute(fitted):
    frame, _, _ = fitted
    with pytest.raises(ValueError, match="province"):
        forecasting.aggregate(frame, "sku_province")
