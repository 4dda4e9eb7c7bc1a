"""Sales as integer-coded numpy arrays, so that every sum below is one `np.bincount`.

Around 100,000 store x SKU series of ~10 units a year are too sparse and too many for a
per-series loop; coded arrays make the whole network a handful of vectorised passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Panel:
    stores: pd.Index  # every store seen in sales or assortment
    skus: pd.Index  # every sku seen in sales, assortment or products
    weeks: pd.DatetimeIndex  # history weeks, consecutive Mondays, last = week before start
    store: np.ndarray  # per sales row: store code
    sku: np.ndarray  # per sales row: sku code
    week: np.ndarray  # per sales row: week index on `weeks`
    units: np.ndarray  # per sales row
    in_stock: np.ndarray  # per sales row, 0..1
    pair: np.ndarray  # per sales row: code of its (store, sku) pair in `pair_keys`
    pair_keys: pd.Index  # store code * len(skus) + sku code, one per pair seen in sales

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


def build_panel(
    sales: pd.DataFrame,
    start: pd.Timestamp,
    assortment: pd.DataFrame | None,
    products: pd.DataFrame | None,
) -> Panel:
    """Code `sales` (already validated, weeks before `start`) on a consecutive week grid."""
    rows = sales
    store_values = [rows["store"]]
    sku_values = [rows["sku"]]
    if assortment is not None:
        store_values.append(assortment["store"])
        sku_values.append(assortment["sku"])
    if products is not None:
        sku_values.append(products.index.to_series())
    stores = pd.Index(pd.unique(pd.concat(store_values, ignore_index=True)))
    skus = pd.Index(pd.unique(pd.concat(sku_values, ignore_index=True)))
    first = sales["week"].min() if len(sales) else start - pd.Timedelta(weeks=1)
    weeks = pd.date_range(first, start - pd.Timedelta(weeks=1), freq="7D")
    store = _codes(rows["store"], stores)
    sku = _codes(rows["sku"], skus)
    pair, pair_keys = pd.factorize(store * len(skus) + sku)
    return Panel(
        stores=stores,
        skus=skus,
        weeks=weeks,
        store=store,
        sku=sku,
        week=((rows["week"] - first) // pd.Timedelta(weeks=1)).to_numpy(dtype=np.int64),
        units=rows["units"].to_numpy(dtype=float),
        in_stock=rows["in_stock"].to_numpy(dtype=float),
        pair=pair.astype(np.int64),
        pair_keys=pd.Index(pair_keys),
    )


def _codes(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each value in `index`: factorize first, look up only the distinct values."""
    codes, uniques = pd.factorize(values)
    return index.get_indexer(uniques).astype(np.int64)[codes]
