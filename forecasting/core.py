"""`forecast`: the one entry point the application, the backtest and the simulation use."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting import calendar, methods, shares, validation
from forecasting.distribution import Dispersion, count_quantiles, excess_dispersion, share_dispersion
from forecasting.history import History
from forecasting.panel import Panel, build_panel, codes

# Chosen by rolling-origin backtest on the demo world (see docs/forecasting.md).
DEFAULT_METHOD = "lifecycle"
CHECK_ORIGINS = 2  # past origins used to measure the forecast error that sets the spread
# A check origin needs this many weeks of history before it. Short histories (a monthly set read
# as weeks, issue 11) otherwise get no measured spread at all; the demo world's checks start
# 78+ weeks in, so this does not touch it.
MIN_CHECK_WEEKS = 12


def forecast(
    sales: pd.DataFrame,
    horizon: int = 13,
    quantiles=(0.5, 0.8, 0.95),
    products: pd.DataFrame | None = None,
    stores: pd.DataFrame | None = None,
    assortment: pd.DataFrame | None = None,
    progress: bool = False,
    *,
    start=None,
    holidays: pd.DataFrame | str | None = None,
    method: str = DEFAULT_METHOD,
) -> pd.DataFrame:
    """Weekly demand forecast per store x SKU with integer quantiles.

    sales: long frame store, sku, week (Monday), units (int >= 0), optional in_stock (0..1,
        default 1) and missed (units customers asked for and could not get, default 0).
        A week without a row, inside the weeks the store carried the SKU, sold nothing with
        the SKU in stock: a frame of only the weeks with sales is complete. Censoring comes
        only from in_stock < 1 (demand scaled up from the share of the week in stock) and
        from missed sales (the week's demand is at least units + missed).
    start: first forecast week (a Monday). Default: the week after the last week in `sales`.
        Rows at or after `start` are ignored, so one frame serves forecasts at many origins.
    products: indexed by (or with a column) sku: brand, category, launch_date, eol_date.
    stores: indexed by (or with a column) store: market, size_class, province, ...
    assortment: store, sku pairs to forecast (new launches and new stores included), with
        optional start and end: the first and last week (Mondays) the store carried the SKU.
        Default pairs: every pair in `sales`, by store and SKU. Default weeks carried (a pair
        without start or end): from when both the SKU (launch_date, else its first sale or
        stockout anywhere) and the store (its first sale or stockout of any SKU) had
        started, to the SKU's eol_date or the last history week; widened to cover the pair's
        own sales, stockouts and missed sales (`forecasting.panel.carried_windows`).
    holidays: frame (date, kind) or a CSV path; default data/holidays.csv when present.
        Loaded here once and passed to the SKU rate model explicitly.
    method: the SKU rate model, a `forecasting.methods` MODEL (lifecycle, ets, level, or auto:
        chosen per demand class by a rolling-origin check before `start`, forecasting.selection).

    Returns store, sku, week, mean, p50, p80, p95 (one column per quantile, integers,
    non-decreasing, >= 0). Demand is forecast as if in stock (stockouts are censoring).
    Zero rows in stock (units 0, in_stock 1, no missed) say nothing a missing row does
    not: with or without them the output is the same.
    `frame.attrs["dispersion"]` keeps the spread used, for `forecasting.aggregate`.
    `frame.attrs["choice"]` records the model used (auto: the pick per group and its scores).
    """
    horizon = validation.check_horizon(horizon)
    quantiles = validation.check_quantiles(quantiles)
    rate_model = methods.get(method, methods.MODEL)
    sales = validation.check_sales(sales)
    products = validation.check_products(products)
    stores = validation.check_stores(stores)
    assortment = validation.check_assortment(assortment)
    if start is None:
        if sales.empty:
            raise ValueError("sales is empty: pass start= (the first forecast week) to forecast new launches")
        start = sales["week"].max() + pd.Timedelta(weeks=1)
    start = validation.check_week(start, "start")
    sales = sales[sales["week"] < start]
    if sales.empty and assortment is None:
        raise ValueError(f"sales has no rows before start={start.date()}: nothing to forecast")
    if not isinstance(holidays, pd.DataFrame):
        holidays = calendar.load_holidays(holidays)

    panel = build_panel(sales, start, assortment, products)
    if assortment is None:
        # Every pair in sales, ordered by store and SKU.
        n_skus = len(panel.skus)
        keys = np.unique(codes(sales["store"], panel.stores) * n_skus + codes(sales["sku"], panel.skus))
        pairs = pd.DataFrame({"store": panel.stores[keys // n_skus], "sku": panel.skus[keys % n_skus]})
    else:
        pairs = assortment[["store", "sku"]]
    pair_store = panel.stores.get_indexer(pairs["store"])
    pair_sku = panel.skus.get_indexer(pairs["sku"])

    from tqdm.auto import tqdm

    with tqdm(total=CHECK_ORIGINS + 1, desc="forecast", unit="origin", disable=None if progress else True) as bar:
        model = _Model(panel, products, stores, holidays, rate_model, bar)
        dispersion = model.dispersion(horizon)
        mean = model.means(panel.n_weeks, horizon, pair_store, pair_sku)  # (pairs, horizon)
        bar.update(1)

    weeks = pd.date_range(start, periods=horizon, freq="7D").astype("datetime64[ns]")
    n = len(pairs)
    out = pd.DataFrame(
        {
            "store": np.repeat(pairs["store"].to_numpy(), horizon),
            "sku": np.repeat(pairs["sku"].to_numpy(), horizon),
            "week": np.tile(weeks.to_numpy(), n),
            "mean": mean.ravel(),
        }
    )
    step = np.tile(np.arange(horizon), n)
    qs = count_quantiles(out["mean"].to_numpy(), dispersion.cell(step), quantiles)
    for j, col in enumerate(validation.quantile_columns(quantiles)):
        out[col] = qs[:, j].astype(np.int64)
    out.attrs["dispersion"] = dispersion.as_dict()
    out.attrs["choice"] = model.choice or {"method": method}
    return out


class _Model:
    """Fits at a given origin (week index) of the panel; holds what all origins share."""

    def __init__(self, panel: Panel, products, stores, holidays: pd.DataFrame, method: methods.Method, bar):
        self.panel = panel
        self.products = products
        self.stores = stores
        self.holidays = holidays
        self.method = method
        self.bar = bar
        self.launch, self.eol = _life_dates(panel, products)
        self.groups = _analogue_groups(panel.skus, products)
        self.affinity_groups = shares.affinity_groups(panel.stores, panel.skus, stores, products)
        self.choice = None

    def sku_history(self, panel: Panel, size: np.ndarray) -> History:
        units, exposure = shares.sku_rates(panel, size)
        launch = self.launch.copy()
        seen = exposure.sum(1) > 0
        first_seen = np.where(seen, np.argmax(exposure > 0, axis=1), panel.n_weeks)
        launch = np.where(np.isnan(launch), first_seen, launch).astype(np.int64)
        return History(panel.skus, panel.weeks, units, exposure, launch, self.eol, self.groups)

    def rates(self, panel: Panel, size: np.ndarray, horizon: int) -> np.ndarray:
        """SKU rate per unit of store size in stock for the `horizon` weeks after `panel` (sku x week)."""
        frame = self.method(self.sku_history(panel, size), horizon, holidays=self.holidays)
        self.choice = frame.attrs.get("choice")  # method="auto": what it chose (forecasting.selection)
        return frame.to_numpy()

    def means(self, end: int, horizon: int, pair_store: np.ndarray, pair_sku: np.ndarray):
        """Store x SKU mean demand for the `horizon` weeks from week index `end`."""
        panel = self.panel.until(end) if end < self.panel.n_weeks else self.panel
        size = shares.store_sizes(panel, self.stores)
        rate = self.rates(panel, size, horizon)  # (sku, horizon)
        known = pair_store >= 0
        affinity = np.ones(len(pair_store))
        affinity[known] = shares.affinities(panel, size, pair_store[known], pair_sku[known], self.affinity_groups)
        return rate[pair_sku] * (size[pair_store] * affinity)[:, None]

    def dispersion(self, horizon: int) -> Dispersion:
        """Spread measured on the last origins: how wrong were we, beyond Poisson noise?"""
        panel = self.panel
        store_rows, store_fit, store_total, sku_act, sku_fit = [], [], [], [], []
        for k in range(1, CHECK_ORIGINS + 1):
            end = panel.n_weeks - k * horizon
            if end < MIN_CHECK_WEEKS:
                break
            rows = panel.rows_between(end, end + horizon)
            pair_store, pair_sku = panel.store[rows], panel.sku[rows]
            # One forecast per row of the check window: that row's pair, that row's week.
            past = panel.until(end)
            size = shares.store_sizes(past, self.stores)
            rate = self.rates(past, size, horizon)
            affinity = shares.affinities(past, size, pair_store, pair_sku, self.affinity_groups)
            step = panel.week[rows] - end
            mu = rate[pair_sku, step] * size[pair_store] * affinity * panel.in_stock[rows]
            cell = pair_sku * horizon + step
            n_cells = len(panel.skus) * horizon
            act_cell = np.bincount(cell, panel.units[rows], n_cells)
            fit_cell = np.bincount(cell, mu, n_cells)
            sku_act.append(act_cell.reshape(-1, horizon))
            sku_fit.append(fit_cell.reshape(-1, horizon))
            # The store part: the stores' spread around their SKU's *actual* week, each row's mean
            # rescaled to the SKU-week's actual total. Measured against the forecast itself, a miss of
            # the SKUs' level (launches 35% low) read as store noise: store rows of a few hundredths of
            # a unit have sum(mu^2) tiny against sum(mu), so a bias of a few percent made it 1.2, 0,
            # 3.5 and 7.5 at the four backtest origins of the 3,000-store fast-fashion world (now 0,
            # 0.05, 0.01 and 0).
            store_rows.append(panel.units[rows])
            store_fit.append(mu * (act_cell / np.maximum(fit_cell, 1e-12))[cell])
            store_total.append(act_cell[cell])
            self.bar.update(1)
        if not store_rows:
            return Dispersion(store=0.3, sku=(0.05,) * horizon)
        act_g, fit_g = np.concatenate(sku_act), np.concatenate(sku_fit)
        by_step = np.array([excess_dispersion(act_g[:, h], fit_g[:, h]) for h in range(horizon)])
        # Smooth across steps: the error grows with the horizon, roughly linearly.
        slope, intercept = np.polyfit(np.arange(horizon), by_step, 1) if horizon > 1 else (0.0, by_step[0])
        sku_phi = np.maximum.accumulate(np.clip(intercept + slope * np.arange(horizon), 0.0, None))
        store_phi = share_dispersion(np.concatenate(store_rows), np.concatenate(store_fit),
                                     np.concatenate(store_total))
        return Dispersion(store=store_phi, sku=tuple(float(x) for x in sku_phi))


def _life_dates(panel: Panel, products) -> tuple[np.ndarray, np.ndarray]:
    n = len(panel.skus)
    launch = np.full(n, np.nan)
    eol = np.full(n, 10**9)
    if products is None:
        return launch, eol
    first = panel.weeks[0]
    attrs = products.reindex(panel.skus)
    if "launch_date" in attrs.columns:
        dates = pd.to_datetime(attrs["launch_date"])
        launch = np.where(dates.isna(), np.nan, ((dates - first) / pd.Timedelta(weeks=1)).to_numpy(dtype=float))
        launch = np.floor(launch)
    if "eol_date" in attrs.columns:
        dates = pd.to_datetime(attrs["eol_date"])
        # Zero demand in weeks that start after the end-of-life date.
        idx = np.floor(((dates - first) / pd.Timedelta(weeks=1)).to_numpy(dtype=float))
        eol = np.where(np.isnan(idx), 10**9, idx).astype(np.int64)
    return launch, eol


def _analogue_groups(skus: pd.Index, products) -> tuple[np.ndarray, ...]:
    """Analogue groups from specific to general: brand+category, category, all SKUs."""
    everyone = np.zeros(len(skus), dtype=np.int64)
    if products is None:
        return (everyone,)
    attrs = products.reindex(skus)
    groups = []
    for keys in (["brand", "category"], ["category"]):
        if all(k in attrs.columns for k in keys):
            frame = attrs[keys].astype(str).fillna("?")
            groups.append(pd.MultiIndex.from_frame(frame).factorize()[0].astype(np.int64))
    return (*groups, everyone)
