"""The replenishment simulation behind `python -m forecasting.simulate` (see that module for the method).

world: the replayed year (cells x weeks of uncensored demand, assortment, end of life);
covers: the rolling forecasts our policy reads; ledger: a policy's weekly stock panel and its KPIs;
ours: the cost-aware policy with same-city transfers; minmax: the baseline, its grid and its tuning;
report: one run end to end, its table and its trade-off plot.
"""
