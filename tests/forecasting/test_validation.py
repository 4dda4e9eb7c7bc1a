"""Bad input is refused with a ValueError that names the problem."""

import numpy as np
import pandas as pd
import pytest

import forecasting
from tests.forecasting.synthetic import series


@pytest.fixture
def sales():
    return series(np.arange(20) % 3)


def test_refuses_missing_columns(sales):
    with pytest.raises(ValueError, match="missing columns.*units"):
        forecasting.forecast(sales.drop(columns="units"))


def test_refuses_negative_units(sales):
    sales.loc[3, "units"] = -1
    with pytest.raises(ValueError, match="negative"):
        forecasting.forecast(sales)


def test_refuses_fractional_units(sales):
    sales["units"] = sales["units"].astype(float)
    sales.loc[3, "units"] = 1.5
    with pytest.raises(ValueError, match="whole numbers"):
        forecasting.forecast(sales)


def test_refuses_duplicate_rows(sales):
    with pytest.raises(ValueError, match="duplicate"):
        forecasting.forecast(pd.concat([sales, sales.iloc[[2]]]))


def test_refuses_non_monday_weeks(sales):
    sales.loc[5, "week"] = sales.loc[5, "week"] + pd.Timedelta(days=2)
    with pytest.raises(ValueError, match="Monday"):
        forecasting.forecast(sales)


def test_refuses_missing_weeks(sales):
    sales["week"] = sales["week"].astype(object)
    sales.loc[5, "week"] = None
    with pytest.raises(ValueError, match="missing dates"):
        forecasting.forecast(sales)


@pytest.mark.parametrize("quantiles", [(0.5, 1.2), (0.0,), (), (0.5, 0.5), ("x",)])
def test_refuses_bad_quantiles(sales, quantiles):
    with pytest.raises(ValueError, match="quantiles"):
        forecasting.forecast(sales, quantiles=quantiles)


@pytest.mark.parametrize("horizon", [0, -3, 2.5, True])
def test_refuses_bad_horizon(sales, horizon):
    with pytest.raises(ValueError, match="horizon"):
        forecasting.forecast(sales, horizon=horizon)


def test_refuses_in_stock_outside_zero_to_one(sales):
    sales["in_stock"] = 1.0
    sales.loc[0, "in_stock"] = 1.5
    with pytest.raises(ValueError, match="in_stock"):
        forecasting.forecast(sales)


def test_refuses_a_start_that_is_not_a_monday(sales):
    with pytest.raises(ValueError, match="start must be a Monday"):
        forecasting.forecast(sales, start="2024-06-05")


def test_refuses_empty_sales_without_start():
    with pytest.raises(ValueError, match="empty"):
        forecasting.forecast(series([]))


def test_refuses_assortment_without_its_columns(sales):
    with pytest.raises(ValueError, match="assortment"):
        forecasting.forecast(sales, assortment=pd.DataFrame({"shop": ["S1"]}))


def test_refuses_an_unknown_method(sales):
    with pytest.raises(ValueError, match="method"):
        forecasting.forecast(sales, method="magic")
