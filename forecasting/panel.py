"""Sales as integer-coded numpy arrays, so that every sum below is one `np.bincount`.

Around 100,000 store x SKU series of ~10 units a year are too sparse and too many for a
per-series loop; coded arrays make the whole network a handful of vectorised passes.

The input contract (docs/forecasting.md) is read here. A week without a row, inside the
weeks a store carried a SKU, is a week in stock that sold nothing: `build_panel` writes
those weeks out as rows (units 0, in_stock 1), so everything downstream sees one row per
carried week. The carried weeks of a pair are its `assortment` start and end when given;
otherwise `carried_windows`' default (below). Rows that say nothing beyond that (units 0,
in_stock 1, no missed sales) never move a window, so a frame that lists only its
non-zero weeks and one with explicit zero rows give the same panel. Rows that say nothing
at all (in_stock 0 and no units, no missed sales) are dropped. Missed sales become
censored demand (`missed_demand`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Panel:
    stores: pd.Index  # every store seen in sales or assortment
    skus: pd.Index  # every sku seen in sales, assortment or products
    weeks: pd.DatetimeIndex  # history weeks, consecutive Mondays, last = week before start
    store: np.ndarray  # per row: store code
    sku: np.ndarray  # per row: sku code
    week: np.ndarray  # per row: week index on `weeks`
    units: np.ndarray  # per row (missed sales added as censored demand)
    in_stock: np.ndarray  # per row, 0..1
    pair: np.ndarray  # per row: code of its (store, sku) pair in `pair_keys`
    pair_keys: pd.Index  # store code * len(skus) + sku code, one per pair with a row

    @property
    def n_weeks(self) -> int:
        return len(self.weeks)

    def until(self, end: int) -> Panel:
        """Only the rows before week index `end`: the panel as it was at that origin."""
        keep = self.week < end
        return Panel(
            self.stores,
            self.skus,
            self.weeks[:end],
            self.store[keep],
            self.sku[keep],
            self.week[keep],
            self.units[keep],
            self.in_stock[keep],
            self.pair[keep],
            self.pair_keys,
        )

    def rows_between(self, begin: int, end: int) -> np.ndarray:
        return (self.week >= begin) & (self.week < end)


def informative(sales: pd.DataFrame) -> np.ndarray:
    """Rows that say more than a missing row would: a sale, a stockout or a missed sale."""
    said = (sales["units"].to_numpy() > 0) | (sales["in_stock"].to_numpy() < 1.0)
    if "missed" in sales.columns:
        said |= sales["missed"].to_numpy() > 0
    return said


def build_panel(
    sales: pd.DataFrame,
    start: pd.Timestamp,
    assortment: pd.DataFrame | None,
    products: pd.DataFrame | None,
) -> Panel:
    """Code `sales` (validated, weeks before `start`) on a consecutive week grid, one row per carried week."""
    said = informative(sales)
    store_values = [sales["store"]]
    sku_values = [sales["sku"]]
    if assortment is not None:
        store_values.append(assortment["store"])
        sku_values.append(assortment["sku"])
    if products is not None:
        sku_values.append(products.index.to_series())
    stores = _sorted_unique(pd.concat(store_values, ignore_index=True))
    skus = _sorted_unique(pd.concat(sku_values, ignore_index=True))

    # The grid starts at the first week that says something: an informative row or an assortment start.
    firsts = [sales.loc[said, "week"].min()] if said.any() else []
    if assortment is not None and "start" in assortment.columns and assortment["start"].notna().any():
        firsts.append(assortment["start"].min())
    firsts = [w for w in firsts if w < start]
    if firsts:
        first = min(firsts)
    elif len(sales):
        first = sales["week"].min()  # only rows of zero sales in stock: they name the weeks, nothing more
    else:
        first = start - pd.Timedelta(weeks=1)
    weeks = pd.date_range(first, start - pd.Timedelta(weeks=1), freq="7D")
    n_weeks, n_skus = len(weeks), len(skus)

    store = codes(sales["store"], stores)
    sku = codes(sales["sku"], skus)
    week = ((sales["week"] - first) // pd.Timedelta(weeks=1)).to_numpy(dtype=np.int64)
    inside = week >= 0  # rows before an informative first week are zero rows in stock: nothing to keep
    store, sku, week = store[inside], sku[inside], week[inside]
    units = sales["units"].to_numpy(dtype=float)[inside]
    in_stock = sales["in_stock"].to_numpy(dtype=float)[inside]
    missed = sales["missed"].to_numpy(dtype=float)[inside] if "missed" in sales.columns else np.zeros(len(week))
    said = said[inside]

    pair_key, lo, hi = carried_windows(store, sku, week, said, n_weeks, len(stores), n_skus, weeks,
                                       assortment, stores, skus, products)
    # Every carried week of every pair, in (pair key, week) order: key * n_weeks + week.
    span = np.maximum(hi - lo + 1, 0)
    rep = np.repeat(np.arange(len(pair_key)), span)
    cell_week = lo[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(span) - span, span))
    cell = pair_key[rep] * n_weeks + cell_week
    del rep
    cell_units = np.zeros(len(cell))
    cell_in_stock = np.ones(len(cell))
    cell_missed = np.zeros(len(cell))
    row_cell = (store * n_skus + sku) * n_weeks + week
    slot = np.searchsorted(cell, row_cell)
    ok = slot < len(cell)
    ok[ok] = cell[slot[ok]] == row_cell[ok]  # rows outside every window are zero rows in stock: dropped
    cell_units[slot[ok]] = units[ok]
    cell_in_stock[slot[ok]] = in_stock[ok]
    cell_missed[slot[ok]] = missed[ok]
    keep = (cell_in_stock > 0) | (cell_units > 0) | (cell_missed > 0)
    cell, cell_week = cell[keep], cell_week[keep]
    cell_units, cell_in_stock, cell_missed = cell_units[keep], cell_in_stock[keep], cell_missed[keep]
    key = cell // n_weeks
    pair, pair_keys = pd.factorize(key, sort=True)
    pair = pair.astype(np.int64)
    if cell_missed.any():
        cell_units, cell_in_stock = missed_demand(cell_units, cell_in_stock, cell_missed, pair, len(pair_keys))
    return Panel(
        stores=stores,
        skus=skus,
        weeks=weeks,
        store=(key // n_skus).astype(np.int64),
        sku=(key % n_skus).astype(np.int64),
        week=cell_week.astype(np.int64),
        units=cell_units,
        in_stock=cell_in_stock,
        pair=pair,
        pair_keys=pd.Index(pair_keys),
    )


def carried_windows(store, sku, week, said, n_weeks, n_stores, n_skus, weeks, assortment, stores, skus, products):
    """Each pair's carried weeks [lo, hi] on the grid, pairs sorted by key (store code * n_skus + sku code).

    The pairs are those with a row in sales and those in the assortment. A pair's window is its
    assortment start and end when given. Otherwise it starts when both the SKU and the store had
    started: the SKU at its launch_date (products), or without one at its first informative row
    anywhere in the network; the store at its first informative row of any SKU (a store that has
    none is new: no history). It ends at the SKU's end of life (eol_date), or at the last history
    week. Either way it is widened to cover the pair's own informative rows: a sale, a stockout
    or a missed sale shows that the store dealt with the SKU that week.
    """
    row_key = store * n_skus + sku
    keys = [row_key]
    if assortment is not None:
        a_key = codes(assortment["store"], stores) * n_skus + codes(assortment["sku"], skus)
        keys.append(a_key)
    pair_key = np.unique(np.concatenate(keys))
    n = len(pair_key)
    never = n_weeks  # a window [n_weeks, ...] holds no history week

    # Network starts: the SKU's launch or first informative row, the store's first informative row.
    sku_first = np.full(n_skus, never, dtype=np.int64)
    np.minimum.at(sku_first, sku[said], week[said])
    if products is not None and "launch_date" in products.columns:
        launch = pd.to_datetime(products["launch_date"].reindex(skus))
        idx = np.floor(((launch - weeks[0]) / pd.Timedelta(weeks=1)).to_numpy(dtype=float))
        known = ~np.isnan(idx)
        sku_first[known] = np.clip(idx[known], 0, never).astype(np.int64)
    store_first = np.full(n_stores, never, dtype=np.int64)
    np.minimum.at(store_first, store[said], week[said])
    sku_last = np.full(n_skus, n_weeks - 1, dtype=np.int64)
    if products is not None and "eol_date" in products.columns:
        eol = pd.to_datetime(products["eol_date"].reindex(skus))
        idx = np.floor(((eol - weeks[0]) / pd.Timedelta(weeks=1)).to_numpy(dtype=float))
        known = ~np.isnan(idx)
        sku_last[known] = np.clip(idx[known], -1, n_weeks - 1).astype(np.int64)
    p_store, p_sku = pair_key // n_skus, pair_key % n_skus
    lo = np.maximum(sku_first[p_sku], store_first[p_store])
    hi = sku_last[p_sku].copy()

    if assortment is not None:
        slot = np.searchsorted(pair_key, a_key)
        for column, target in (("start", lo), ("end", hi)):
            if column not in assortment.columns:
                continue
            dates = pd.to_datetime(assortment[column])
            given = dates.notna().to_numpy()
            idx = ((dates[given] - weeks[0]) // pd.Timedelta(weeks=1)).to_numpy(dtype=np.int64)
            target[slot[given]] = np.clip(idx, -1, n_weeks)

    # Widen to the pair's own informative rows.
    r_slot = np.searchsorted(pair_key, row_key[said])
    first_said = np.full(n, never, dtype=np.int64)
    np.minimum.at(first_said, r_slot, week[said])
    last_said = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_said, r_slot, week[said])
    lo = np.clip(np.minimum(lo, first_said), 0, never)
    hi = np.clip(np.maximum(hi, last_said), -1, n_weeks - 1)
    return pair_key, lo, hi


def missed_demand(units, in_stock, missed, pair, n_pairs):
    """Missed sales as censored demand: the week's demand is at least units + missed.

    A week with missed sales m, units u and a share f of the week in stock is read as a whole
    week in stock whose demand is u + E[D | D >= m], D the demand of the (1 - f) of the week
    out of stock, Poisson with the pair's in-stock rate. Without missed sales the censored
    reading gives u + E[D] in expectation (units over exposure), so this only adds what the
    record shows beyond it: at a few units a year E[D | D >= m] is m.
    """
    exposure = np.bincount(pair, in_stock, n_pairs)
    rate = np.where(exposure > 0, np.bincount(pair, units, n_pairs) / np.maximum(exposure, 1e-12), 0.0)
    rows = missed > 0
    mu = rate[pair[rows]] * (1.0 - in_stock[rows])
    m = missed[rows]
    # E[D | D >= m] = mu P(D >= m - 1) / P(D >= m), and m when mu is ~0.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.exp(stats.poisson.logsf(m - 2, mu) - stats.poisson.logsf(m - 1, mu))
        expected = np.where(mu > 1e-9, mu * ratio, m)
    expected = np.where(np.isfinite(expected), np.maximum(expected, m), m)
    units, in_stock = units.copy(), in_stock.copy()
    units[rows] += expected
    in_stock[rows] = 1.0
    return units, in_stock


def _sorted_unique(values: pd.Series) -> pd.Index:
    """Distinct values, sorted when they can be, so that codes do not depend on row order."""
    index = pd.Index(pd.unique(values))
    try:
        return index.sort_values()
    except TypeError:
        return index


def codes(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each value in `index`: factorize first, look up only the distinct values."""
    codes, uniques = pd.factorize(values)
    return index.get_indexer(uniques).astype(np.int64)[codes]


def carried_rows(sales: pd.DataFrame, assortment: pd.DataFrame) -> pd.DataFrame:
    """The same data with a row for every carried week: what a missing row means, written out.

    `sales` and `assortment` as validated (`validation.check_sales`, `check_assortment`); a
    pair's window is its assortment start and end, or its first and last row in `sales` where
    one is missing. Carried weeks without a row get units 0, in_stock 1 (and missed 0); rows
    outside every window are kept as they are. For readers that want a dense grid (the
    backtest's actuals, the replenishment simulation); `forecast` reads both forms alike.
    """
    rows = sales.reset_index(drop=True)
    stores = _sorted_unique(pd.concat([rows["store"], assortment["store"]], ignore_index=True))
    skus = _sorted_unique(pd.concat([rows["sku"], assortment["sku"]], ignore_index=True))
    n_skus = len(skus)
    day = rows["week"].to_numpy().astype("datetime64[D]").astype(np.int64)
    row_key = codes(rows["store"], stores) * n_skus + codes(rows["sku"], skus)
    pair_key = codes(assortment["store"], stores) * n_skus + codes(assortment["sku"], skus)
    order = np.argsort(pair_key, kind="stable")
    pair_key = pair_key[order]
    lo = np.full(len(pair_key), np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(len(pair_key), np.iinfo(np.int64).min, dtype=np.int64)
    slot = np.searchsorted(pair_key, row_key)
    known = slot < len(pair_key)
    known[known] = pair_key[slot[known]] == row_key[known]
    np.minimum.at(lo, slot[known], day[known])
    np.maximum.at(hi, slot[known], day[known])
    for column, target in (("start", lo), ("end", hi)):
        if column in assortment.columns:
            given = pd.to_datetime(assortment[column]).to_numpy()[order]
            ok = ~np.isnat(given)
            target[ok] = given[ok].astype("datetime64[D]").astype(np.int64)
    span = np.where(hi >= lo, (hi - lo) // 7 + 1, 0)
    span[(lo == np.iinfo(np.int64).max) | (hi == np.iinfo(np.int64).min)] = 0
    rep = np.repeat(np.arange(len(pair_key)), span)
    cell_day = lo[rep] + 7 * (np.arange(len(rep)) - np.repeat(np.cumsum(span) - span, span))
    cell_key = pair_key[rep]
    # Rows on the grid replace the filler; the others are appended.
    filler = ~np.isin(cell_key * 2**24 + (cell_day + 2**22), row_key * 2**24 + (day + 2**22))
    cell_key, cell_day = cell_key[filler], cell_day[filler]
    out = pd.DataFrame({
        "store": stores[cell_key // n_skus], "sku": skus[cell_key % n_skus],
        "week": cell_day.astype("datetime64[D]").astype("datetime64[ns]"),
        "units": np.zeros(len(cell_key)), "in_stock": np.ones(len(cell_key)),
    })
    if "missed" in rows.columns:
        out["missed"] = 0.0
    out = pd.concat([rows[out.columns], out], ignore_index=True)
    key = codes(out["store"], stores) * n_skus + codes(out["sku"], skus)
    order = np.lexsort((out["week"].to_numpy(), key))
    return out.take(order).reset_index(drop=True)


def stocked_windows(sales: pd.DataFrame) -> pd.DataFrame:
    """store, sku, start, end: each pair's first and last week with a sale or stock on hand.

    The carried weeks of a frame written the old way (a row for every week with stock, none
    for the weeks without), for readers of such frames that must now say them.
    """
    stocked = sales[(sales["units"].to_numpy() > 0) | (sales["in_stock"].to_numpy() > 0)]
    store, stores = pd.factorize(stocked["store"], sort=True)
    sku, skus = pd.factorize(stocked["sku"], sort=True)
    key = store.astype(np.int64) * max(len(skus), 1) + sku
    day = stocked["week"].to_numpy().astype("datetime64[D]").astype(np.int64)
    pairs, slot = np.unique(key, return_inverse=True)
    first = np.full(len(pairs), np.iinfo(np.int64).max)
    last = np.full(len(pairs), np.iinfo(np.int64).min)
    np.minimum.at(first, slot, day)
    np.maximum.at(last, slot, day)
    return pd.DataFrame({
        "store": stores[pairs // max(len(skus), 1)], "sku": skus[pairs % max(len(skus), 1)],
        "start": first.astype("datetime64[D]").astype("datetime64[ns]"),
        "end": last.astype("datetime64[D]").astype("datetime64[ns]"),
    })
