"""Weekly sales from the stock ledger, and the one week rule every reader uses.

The week rule: a movement belongs to the week that starts on the Monday of the store's local
calendar (its `timezone`, Asia/Shanghai when unknown), never the UTC Monday. `week_start` states
it for one timestamp; `weekly_sales` applies it to a whole ledger (vectorised, same answer). The
store home chart, the forecast input and the export all count weeks this way, so a sale at 23:30
on a Sunday in Shanghai (15:30 UTC) belongs to the week that ends that Sunday everywhere.

Pure pandas and numpy: `weekly_sales` serves both the generated demo world and a ledger read
from the database, so it relies on nothing but the columns ts, location, sku, kind and quantity.

`forecast_input` turns its frame (a row for every week with stock) into the forecasting
library's contract (docs/forecasting.md): rows only for the weeks that say something (a sale,
a stockout, a missed sale) and an assortment with the weeks each store carried each SKU; a
carried week without a row sold nothing in stock. `weekly_missed` counts the missed sales
(`missed_sale`: a customer asked, the shelf was empty) by the same week rule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

DEFAULT_TIMEZONE = "Asia/Shanghai"
SALES_COLUMNS = ["store", "sku", "week", "units", "in_stock"]
INPUT_COLUMNS = [*SALES_COLUMNS, "missed"]
ASSORTMENT_COLUMNS = ["store", "sku", "start", "end"]
CHUNKS = 16


def local_day(ts_utc: datetime, timezone: str | None) -> date:
    """The calendar day of a UTC instant in the store's time zone (a naive timestamp is UTC)."""
    ts = ts_utc.replace(tzinfo=UTC) if ts_utc.tzinfo is None else ts_utc
    return ts.astimezone(ZoneInfo(timezone or DEFAULT_TIMEZONE)).date()


def week_start(ts_utc: datetime, timezone: str | None) -> date:
    """The week rule: the Monday of the store's local week holding `ts_utc` (a naive timestamp is UTC)."""
    day = local_day(ts_utc, timezone)
    return day - timedelta(days=day.weekday())


def local_midnight(day: date, timezone: str | None) -> datetime:
    """The UTC instant at which `day` begins in the store's time zone: the lower bound of a local week."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone or DEFAULT_TIMEZONE)).astimezone(UTC)


def _local_days(ts: pd.Series, timezone: pd.Series) -> np.ndarray:
    """Local calendar day of each timestamp, as days since 1970-01-01."""
    days = np.empty(len(ts), np.int64)
    for tz, rows in timezone.groupby(timezone.to_numpy(), sort=True).groups.items():
        pos = timezone.index.get_indexer(rows)
        local = ts.iloc[pos].dt.tz_convert(tz).dt.tz_localize(None)
        days[pos] = local.to_numpy().astype("datetime64[D]").astype(np.int64)
    return days


def _week(day: np.ndarray) -> np.ndarray:
    """ISO week number counted from the week of 1970-01-01 (day 4, 1970-01-05, is a Monday).

    With `_local_days` this is `week_start` for a whole column: week w starts on day w * 7 - 3.
    """
    return (day + 3) // 7


def weekly_sales(movements: pd.DataFrame, stores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Units sold and share of days in stock per store, SKU and ISO week (Monday, store local time).

    A day counts as in stock when the store had the SKU on hand at the start or at the end of
    the day, or sold it that day. Weeks appear from the first delivery on, whenever the SKU
    was on hand at some point of the week; returns are not subtracted from units.
    """
    missing = {"ts", "location", "sku", "kind", "quantity"} - set(movements.columns)
    if missing:
        raise ValueError(f"movements lacks columns {sorted(missing)}; pass the stock ledger frame.")
    if stores is not None:
        at_store = movements["location"].isin(stores["code"])
        tz_of = stores.set_index("code")["timezone"]
    else:
        at_store = ~movements["location"].astype(str).str.startswith("DC")
        tz_of = None
    ledger = movements.loc[at_store, ["ts", "location", "sku", "kind", "quantity"]].reset_index(drop=True)
    if ledger.empty:
        return _empty()
    ts = pd.to_datetime(ledger["ts"], utc=True)
    timezone = (ledger["location"].map(tz_of).fillna(DEFAULT_TIMEZONE) if tz_of is not None
                else pd.Series(DEFAULT_TIMEZONE, index=ledger.index))
    day = _local_days(ts, timezone)
    all_ts = pd.to_datetime(movements["ts"], utc=True)
    last_day = int(all_ts.max().tz_convert(DEFAULT_TIMEZONE).tz_localize(None).to_datetime64()
                   .astype("datetime64[D]").astype(np.int64))
    last_day = max(last_day, int(day.max()))

    # Sorted codes make the (cell, week) order the (store, sku, week) order of the result.
    loc_code, loc_names = pd.factorize(ledger["location"], sort=True)
    sku_code, sku_names = pd.factorize(ledger["sku"], sort=True)
    cell = loc_code.astype(np.int64) * len(sku_names) + sku_code
    qty = ledger["quantity"].to_numpy(np.int64)
    sold = np.where(ledger["kind"].to_numpy() == "sale", -qty, 0)

    # One entry per (cell, day) that has movements, in order.
    order = np.lexsort((day, cell))
    cell, day, qty, sold = cell[order], day[order], qty[order], sold[order]
    new = np.ones(len(cell), bool)
    new[1:] = (cell[1:] != cell[:-1]) | (day[1:] != day[:-1])
    starts = np.nonzero(new)[0]
    cell, day = cell[starts], day[starts]
    net = np.add.reduceat(qty, starts)
    units = np.add.reduceat(sold, starts)
    first_of_cell = np.ones(len(cell), bool)
    first_of_cell[1:] = cell[1:] != cell[:-1]
    running = np.cumsum(net)
    group_start = np.maximum.accumulate(np.where(first_of_cell, np.arange(len(cell)), 0))
    end_balance = running - (running - net)[group_start]
    start_balance = end_balance - net
    event_in_stock = ((start_balance > 0) | (end_balance > 0) | (units > 0)).astype(np.int64)

    # Between two days with movements the balance stays at the earlier day's closing balance.
    next_day = np.empty(len(day), np.int64)
    next_day[:-1] = day[1:]
    last_of_cell = np.ones(len(cell), bool)
    last_of_cell[:-1] = cell[:-1] != cell[1:]
    next_day[last_of_cell] = last_day + 1
    # Expand in slices of whole cells so that temporaries stay small for large ledgers.
    pieces = []
    bounds = np.searchsorted(cell, np.unique(cell[:: max(len(cell) // CHUNKS, 1)]))
    bounds = np.append(bounds, len(cell))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        pieces.append(_weekly_slice(cell[lo:hi], day[lo:hi], units[lo:hi], event_in_stock[lo:hi],
                                    end_balance[lo:hi], next_day[lo:hi]))
    out_cell, out_week, week_units, days_in_stock = (np.concatenate(col) for col in zip(*pieces, strict=True))
    del pieces
    return pd.DataFrame({
        "store": _names(loc_names, out_cell // len(sku_names)),
        "sku": _names(sku_names, out_cell % len(sku_names)),
        "week": (out_week.astype(np.int64) * 7 - 3).astype("datetime64[D]").astype("datetime64[ns]"),
        "units": week_units.astype(np.int64),
        "in_stock": np.minimum(days_in_stock / 7.0, 1.0),
    })


def _weekly_slice(cell, day, units, event_in_stock, end_balance, next_day):
    """Weekly rows of some whole cells: (cell, week, units, days in stock), ordered by cell and week."""
    gap_from, gap_to = day + 1, next_day - 1
    stocked_gap = (end_balance > 0) & (gap_to >= gap_from)
    g_cell, g_from, g_to = cell[stocked_gap], gap_from[stocked_gap], gap_to[stocked_gap]
    w_from, w_to = _week(g_from), _week(g_to)
    spans = w_to - w_from + 1
    rep = np.repeat(np.arange(len(g_cell)), spans)
    g_week = w_from[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(spans) - spans, spans))
    monday = g_week * 7 - 3
    g_days = np.minimum(g_to[rep], monday + 6) - np.maximum(g_from[rep], monday) + 1
    del monday

    # Event rows and gap rows are each ordered by (cell, week): a stable sort merges the two runs.
    all_cell = np.concatenate([cell, g_cell[rep]])
    all_week = np.concatenate([_week(day), g_week])
    key = all_cell * (int(all_week.max()) + 1) + all_week
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(len(key), bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.nonzero(first)[0]
    days_in_stock = np.add.reduceat(np.concatenate([event_in_stock, g_days])[order], starts)
    week_units = np.add.reduceat(np.concatenate([units, np.zeros(len(rep), np.int64)])[order], starts)
    out_cell, out_week = all_cell[order][starts], all_week[order][starts]
    keep = (days_in_stock > 0) | (week_units > 0)
    return (out_cell[keep].astype(np.int32), out_week[keep].astype(np.int32),
            week_units[keep].astype(np.int32), days_in_stock[keep].astype(np.int8))


def _names(names: pd.Index, codes: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(np.asarray(names, dtype=object), dtype="str")).take(codes).reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        "store": pd.array([], dtype="str"), "sku": pd.array([], dtype="str"),
        "week": np.array([], dtype="datetime64[ns]"), "units": np.array([], dtype=np.int64),
        "in_stock": np.array([], dtype=float),
    })


def weekly_missed(missed: pd.DataFrame, stores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Missed sales (columns ts, location, sku, quantity) summed per store, SKU and local week: store, sku, week, missed."""
    if missed is None or missed.empty:
        return pd.DataFrame({"store": pd.array([], dtype="str"), "sku": pd.array([], dtype="str"),
                             "week": np.array([], dtype="datetime64[ns]"), "missed": np.array([], dtype=np.int64)})
    missed = missed.reset_index(drop=True)
    ts = pd.to_datetime(missed["ts"], utc=True)
    tz_of = stores.set_index("code")["timezone"] if stores is not None and "timezone" in stores else None
    timezone = (missed["location"].map(tz_of).fillna(DEFAULT_TIMEZONE) if tz_of is not None
                else pd.Series(DEFAULT_TIMEZONE, index=missed.index))
    week = (_week(_local_days(ts, timezone)) * 7 - 3).astype("datetime64[D]").astype("datetime64[ns]")
    frame = pd.DataFrame({"store": missed["location"].astype(str).to_numpy(), "sku": missed["sku"].astype(str).to_numpy(),
                          "week": week, "missed": missed["quantity"].to_numpy(np.int64)})
    return frame.groupby(["store", "sku", "week"], as_index=False, sort=True)["missed"].sum()


def forecast_input(weekly: pd.DataFrame, missed: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The forecasting contract from `weekly_sales`' frame (and `weekly_missed`'s): (sales, assortment).

    assortment: store, sku, start, end: the first and last week the store had the SKU on hand
    (or recorded a missed sale of it); the store carried it in between. sales: store, sku, week,
    units, in_stock, missed, only for the carried weeks that were not a plain week in stock:
    a sale, part of the week out of stock, a whole week out of stock between two weeks with
    stock (in_stock 0: `weekly_sales` has no row for it), or a missed sale. Every other carried
    week sold nothing with the SKU in stock, which the contract reads from the missing row.
    """
    frame = weekly[SALES_COLUMNS].copy()
    frame["missed"] = 0
    if missed is not None and len(missed):
        frame = frame.merge(missed[["store", "sku", "week", "missed"]], on=["store", "sku", "week"], how="outer",
                            suffixes=("_none", ""))
        frame = frame.drop(columns="missed_none")
        frame["units"] = frame["units"].fillna(0).astype(np.int64)
        frame["in_stock"] = frame["in_stock"].fillna(0.0)  # a missed sale in a week without stock
        frame["missed"] = frame["missed"].fillna(0).astype(np.int64)
        frame = frame.sort_values(["store", "sku", "week"], kind="stable").reset_index(drop=True)
    if frame.empty:
        sales = frame[INPUT_COLUMNS].reset_index(drop=True)
        empty_week = np.array([], dtype="datetime64[ns]")
        return sales, pd.DataFrame({"store": sales["store"], "sku": sales["sku"], "start": empty_week, "end": empty_week})
    # Ordered by (store, sku, week): pairs are runs of rows.
    store, sku = frame["store"].to_numpy(), frame["sku"].to_numpy()
    pair_start = np.ones(len(frame), bool)
    pair_start[1:] = (store[1:] != store[:-1]) | (sku[1:] != sku[:-1])
    first = np.nonzero(pair_start)[0]
    last = np.append(first[1:], len(frame)) - 1
    week = frame["week"].to_numpy()
    assortment = pd.DataFrame({"store": frame["store"].to_numpy()[first], "sku": frame["sku"].to_numpy()[first],
                               "start": week[first], "end": week[last]})
    # Whole weeks out of stock between two rows of a pair: in_stock 0, or they would read as weeks in stock.
    week_no = (week.astype("datetime64[D]").astype(np.int64) + 3) // 7
    gap = np.zeros(len(frame), np.int64)
    gap[:-1] = week_no[1:] - week_no[:-1] - 1
    gap[last] = 0
    rep = np.repeat(np.arange(len(frame)), gap)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(gap) - gap, gap) + 1
    gaps = pd.DataFrame({
        "store": frame["store"].to_numpy()[rep], "sku": frame["sku"].to_numpy()[rep],
        "week": ((week_no[rep] + offset) * 7 - 3).astype("datetime64[D]").astype("datetime64[ns]"),
        "units": np.zeros(len(rep), np.int64), "in_stock": np.zeros(len(rep)), "missed": np.zeros(len(rep), np.int64),
    })
    said = (frame["units"].to_numpy() > 0) | (frame["in_stock"].to_numpy() < 1.0) | (frame["missed"].to_numpy() > 0)
    sales = pd.concat([frame.loc[said, INPUT_COLUMNS], gaps], ignore_index=True)
    sales = sales.sort_values(["store", "sku", "week"], kind="stable").reset_index(drop=True)
    return sales, assortment
