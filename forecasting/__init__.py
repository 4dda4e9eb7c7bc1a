"""Weekly demand forecasting for the store network: pandas in, pandas out.

Pure functions on data: no clock, no database, no web framework. The entry point is
`forecast`; `aggregate` sums its output coherently to SKU x province, SKU x network or
brand x network, with quantiles recomputed for the sum.
"""

from forecasting.aggregate import LEVELS, aggregate
from forecasting.core import forecast

__all__ = ["LEVELS", "aggregate", "forecast"]
