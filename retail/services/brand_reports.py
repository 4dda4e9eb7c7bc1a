"""What a brand partner reads of its SKUs across the network: stock, sell-through and forecasts (queries).

Each list is cut into pages by a keyset (the row after the last one shown, in a stable order), so a page
costs the same wherever it starts. Only the brand's SKUs are ever read.

- Stock (`stock`): on hand and in transit by SKU (every location, warehouses included), by province or by
  store (stores only). `weekly_sales` is the mean weekly units sold over the last 8 weeks (the 56 days
  before the request, sales only, returns not netted); `weeks_of_cover` = on hand / weekly_sales, None
  when nothing sold in those weeks. Sales history, not the forecast: it is what happened, comparable
  between SKUs with and without a forecast.
- Sell-through (`sell_through`): per week (the store's local Monday, the platform's one week rule), SKU and
  province or store: units sold, units returned and the sales revenue per currency (list prices charged,
  before returns).
- Forecasts (`forecast`): the latest forecast run, per store x SKU as stored, or summed to province or
  network. Means add up; quantiles do not (the sum of store quantiles overstates the spread of the sum),
  so aggregate quantiles come from `forecasting.aggregate`: a negative binomial matched to the mean and
  variance of the sum, where stores share the SKU-level forecast error (covariance phi_sku mu_i mu_j) and
  are otherwise independent; the run's estimated dispersion gives phi.
"""
from __future__ import annotations

import bisect
import functools
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import and_, bindparam, func, or_, select
from sqlmodel import Session

from forecasting import kpis
from forecasting.aggregate import aggregate
from retail import errors
from retail.models import (
    ForecastRun,
    ForecastSeries,
    Location,
    LocationKind,
    Movement,
    MovementKind,
    Product,
    StockBalance,
)
from retail.services.verbs import query
from retail.services.weekly_sales import DEFAULT_TIMEZONE

SALES_WEEKS = 8
MAX_RANGE_DAYS = 366
LEVELS = ("sku", "province", "store")


def _after(columns, values) -> object:
    """Rows strictly after `values` in the order of `columns` (a keyset, portable: no row values)."""
    first, *rest = columns
    if not rest:
        return first > values[0]
    return or_(first > values[0], and_(first == values[0], _after(rest, values[1:])))


# ---------------------------------------------------------------- stock

@dataclass(frozen=True)
class StockRow:
    sku: str
    province: str | None
    store: str | None
    on_hand: int
    in_transit: int
    weekly_sales: float
    weeks_of_cover: float | None


@functools.cache
def _stock_statement(level: str, by_sku: bool, paged: bool):
    """The one statement of a page of `stock` at `level`, built once per shape with bound parameters
    (brand_id, sku, after_0, after_1, limit, since, as_of): the page (a CTE), then the units sold of its
    rows only, joined to it."""
    b, m = StockBalance.__table__.c, Movement.__table__.c
    if level == "sku":
        keys = [Product.sku]
        statement = (select(Product.sku, Product.id.label("product_id"),
                            func.coalesce(func.sum(b.on_hand), 0).label("on_hand"),
                            func.coalesce(func.sum(b.in_transit), 0).label("in_transit"))
                     .select_from(Product).outerjoin(StockBalance, b.product_id == Product.id)
                     .group_by(Product.sku, Product.id))
    elif level == "province":
        keys = [Location.province, Product.sku]
        statement = (select(Location.province.label("grp"), Product.sku, func.min(Product.id).label("product_id"),
                            func.sum(b.on_hand).label("on_hand"), func.sum(b.in_transit).label("in_transit"))
                     .select_from(StockBalance)
                     .join(Product, Product.id == b.product_id).join(Location, Location.id == b.location_id)
                     .where(Location.kind == LocationKind.store).group_by(Location.province, Product.sku))
    else:  # one balance row per store and SKU: no grouping
        keys = [Location.code, Product.sku]
        statement = (select(Location.code.label("grp"), Product.sku, Product.id.label("product_id"),
                            b.location_id, Location.province, b.on_hand, b.in_transit)
                     .select_from(StockBalance)
                     .join(Product, Product.id == b.product_id).join(Location, Location.id == b.location_id)
                     .where(Location.kind == LocationKind.store))
    statement = statement.where(Product.brand_id == bindparam("brand_id"))
    if by_sku:
        statement = statement.where(Product.sku == bindparam("sku"))
    if paged:
        statement = statement.where(_after(keys, [bindparam(f"after_{i}") for i in range(len(keys))]))
    page = statement.order_by(*keys).limit(bindparam("limit")).cte("page")
    sold = (select(m.product_id, func.sum(-m.quantity).label("units"))
            .where(m.kind == MovementKind.sale, m.ts > bindparam("since"), m.ts <= bindparam("as_of"),
                   m.product_id.in_(select(page.c.product_id))))
    if level == "sku":
        sold = sold.group_by(m.product_id).subquery("sold")
        joined = sold.c.product_id == page.c.product_id
    elif level == "province":
        sold = (sold.add_columns(Location.province).join(Location, Location.id == m.location_id)
                .where(Location.kind == LocationKind.store, Location.province.in_(select(page.c.grp)))
                .group_by(m.product_id, Location.province).subquery("sold"))
        joined = (sold.c.product_id == page.c.product_id) & (sold.c.province == page.c.grp)
    else:  # by the (location, product, ts) index
        sold = (sold.add_columns(m.location_id).where(m.location_id.in_(select(page.c.location_id)))
                .group_by(m.product_id, m.location_id).subquery("sold"))
        joined = (sold.c.product_id == page.c.product_id) & (sold.c.location_id == page.c.location_id)
    order = [page.c.sku] if level == "sku" else [page.c.grp, page.c.sku]
    return select(page, sold.c.units).select_from(page).outerjoin(sold, joined).order_by(*order)


@query
def stock(session: Session, *, brand_id: int, level: str, sku: str = "", after: list | None = None,
          limit: int = 50, as_of: datetime) -> list[StockRow]:
    """A page of the brand's stock at `level` (sku, province or store), `limit` rows after `after`
    (the previous page's last (sku,), (province, sku) or (store, sku)). One statement."""
    if level not in LEVELS:
        raise errors.InvalidValue(field="level", value=level)
    params = {"brand_id": brand_id, "limit": limit, "since": as_of - timedelta(weeks=SALES_WEEKS), "as_of": as_of}
    if sku:
        params["sku"] = sku
    if after is not None:
        params.update({f"after_{i}": value for i, value in enumerate(after)})
    rows = session.execute(_stock_statement(level, bool(sku), after is not None), params).all()
    if not rows:
        return []
    weekly = [round(float(row.units or 0) / SALES_WEEKS, 3) for row in rows]
    covers = kpis.weeks_of_cover([int(row.on_hand or 0) for row in rows], weekly)  # the one definition
    out = []
    for row, rate, cover in zip(rows, weekly, covers, strict=True):
        province = row.grp if level == "province" else (row.province if level == "store" else None)
        out.append(StockRow(sku=row.sku, province=province, store=row.grp if level == "store" else None,
                            on_hand=int(row.on_hand or 0), in_transit=int(row.in_transit or 0), weekly_sales=rate,
                            weeks_of_cover=round(float(cover), 2) if rate > 0 else None))  # inf: null
    return out


# ---------------------------------------------------------------- sell-through

@dataclass(frozen=True)
class SellThroughRow:
    sku: str
    province: str | None
    store: str | None
    week: date
    units_sold: int
    units_returned: int
    revenue: dict[str, Decimal]  # currency -> amount of the sales


def check_range(start: date, end: date) -> None:
    if start > end or (end - start).days + 1 > MAX_RANGE_DAYS:
        raise errors.DateRangeInvalid(start=start.isoformat(), end=end.isoformat(), max_days=MAX_RANGE_DAYS)


@query
def sell_through(session: Session, *, brand_id: int, start: date, end: date, by: str, sku: str = "",
                 after: list | None = None, limit: int = 50) -> list[SellThroughRow]:
    """Weekly sales and returns of the brand's SKUs at the stores between `start` and `end` (local days,
    both included), by `by` (sku, province or store); rows ordered by (sku, group, week), `limit` of them
    after `after` ([sku, group ('' by SKU), week ISO date])."""
    if by not in LEVELS:
        raise errors.InvalidValue(field="by", value=by)
    check_range(start, end)
    m = Movement.__table__.c
    # Local days of every time zone fall within a day of UTC: read a day more each side, then keep the rows
    # whose local day is in range.
    lo = datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC)
    hi = datetime.combine(end + timedelta(days=2), time.min, tzinfo=UTC)
    statement = (select(m.ts, m.kind, m.quantity, m.unit_price, m.currency, Product.sku, Location.code,
                        Location.province, Location.timezone)
                 .join(Product, Product.id == m.product_id).join(Location, Location.id == m.location_id)
                 .where(Product.brand_id == brand_id, Location.kind == LocationKind.store,
                        m.kind.in_([MovementKind.sale, MovementKind.return_]), m.ts >= lo, m.ts < hi))
    if sku:
        statement = statement.where(Product.sku == sku)
    if after is not None:
        statement = statement.where(Product.sku >= after[0])
    frame = pd.DataFrame(session.execute(statement).all(),
                         columns=["ts", "kind", "quantity", "unit_price", "currency", "sku", "store", "province",
                                  "timezone"])
    if frame.empty:
        return []
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["day"] = pd.NaT
    days = pd.Series(index=frame.index, dtype="datetime64[ns]")
    for tz, rows in frame.groupby(frame["timezone"].fillna(DEFAULT_TIMEZONE).replace("", DEFAULT_TIMEZONE)).groups.items():
        days.loc[rows] = frame.loc[rows, "ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    frame["day"] = days
    frame = frame[(frame["day"] >= pd.Timestamp(start)) & (frame["day"] <= pd.Timestamp(end))]
    if frame.empty:
        return []
    frame["week"] = (frame["day"] - pd.to_timedelta(frame["day"].dt.day_of_week, unit="D")).dt.date
    frame["group"] = "" if by == "sku" else frame[by]
    sale = frame["kind"] == MovementKind.sale
    frame["sold"] = (-frame["quantity"]).where(sale, 0)
    frame["returned"] = frame["quantity"].where(~sale, 0)
    frame["amount"] = [(-q * (p or Decimal(0))) if s else Decimal(0)
                       for q, p, s in zip(frame["quantity"], frame["unit_price"], sale, strict=True)]
    out = []
    for (sku_, group, week), rows in frame.groupby(["sku", "group", "week"], sort=True):
        if after is not None and (sku_, group, week.isoformat()) <= (after[0], after[1], after[2]):
            continue
        revenue: dict[str, Decimal] = {}
        for currency, amount, is_sale in zip(rows["currency"], rows["amount"], rows["kind"] == MovementKind.sale,
                                             strict=True):
            if is_sale and currency:
                revenue[currency] = revenue.get(currency, Decimal(0)) + amount
        province = group if by == "province" else (rows["province"].iloc[0] if by == "store" else None)
        out.append(SellThroughRow(sku=sku_, province=province, store=group if by == "store" else None, week=week,
                                  units_sold=int(rows["sold"].sum()), units_returned=int(rows["returned"].sum()),
                                  revenue=dict(sorted(revenue.items()))))
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------- forecasts

@dataclass(frozen=True)
class ForecastWeekRow:
    week: date
    mean: float
    quantiles: dict[str, int]


@dataclass(frozen=True)
class ForecastRow:
    run_id: int
    sku: str
    province: str | None
    store: str | None
    weeks: list[ForecastWeekRow]


def _latest_run(session: Session) -> ForecastRun | None:
    return session.execute(select(ForecastRun.id, ForecastRun.start_week, ForecastRun.horizon,
                                  ForecastRun.dispersion, ForecastRun.created_at)
                           .order_by(ForecastRun.start_week.desc(), ForecastRun.id.desc()).limit(1)).first()


# Sums by province or network of a run, per (run, brand, level, sku filter). A stored run never changes (it is
# written whole, once), so its sums are kept for the life of the worker: the first request of a run pays the
# aggregation (about 0.1 s for a brand of 300 stores x 20 SKUs), the next ones a slice of a list.
_SUMS: dict[tuple, tuple[list, list]] = {}
_SUMS_LOCK = threading.Lock()
_SUMS_BUILDING = threading.Lock()
SUMS_KEPT = 64


def _run_key(session: Session, run) -> tuple:
    """A run as kept: its database, id and time of creation (ids repeat across databases, in tests)."""
    return str(session.get_bind().url), run.id, str(run.created_at)


def _series_query(run_id: int, brand_id: int, sku: str, *columns):
    fs = ForecastSeries.__table__.c
    statement = (select(*columns).select_from(ForecastSeries).join(Product, Product.id == fs.product_id)
                 .join(Location, Location.id == fs.location_id)
                 .where(fs.run_id == run_id, Product.brand_id == brand_id))
    return statement.where(Product.sku == sku) if sku else statement


def _padded(values, horizon: int) -> list:
    values = list(values or [])[:horizon]
    return values + [0] * (horizon - len(values))


def _weeks(run) -> list[date]:
    return [run.start_week + timedelta(weeks=i) for i in range(run.horizon)]


def _rows_of(run, weeks: list[date], means, quantiles: dict[str, list]) -> list[ForecastWeekRow]:
    return [ForecastWeekRow(week=week, mean=round(float(means[i]), 3),
                            quantiles={q: int(values[i]) for q, values in quantiles.items()})
            for i, week in enumerate(weeks)]


def _summed(session: Session, run, brand_id: int, level: str, sku: str) -> tuple[list, list]:
    """Every (key, ForecastRow) of the brand at province or network level, in key order."""
    key = (_run_key(session, run), brand_id, level, sku)
    with _SUMS_LOCK:
        kept = _SUMS.get(key)
    if kept is not None:
        return kept
    with _SUMS_BUILDING:  # one thread sums, the others of the worker wait for it (not 16 sums at once)
        with _SUMS_LOCK:
            kept = _SUMS.get(key)
        return kept if kept is not None else _sum(session, run, brand_id, level, sku, key)


def _sum(session: Session, run, brand_id: int, level: str, sku: str, key: tuple) -> tuple[list, list]:
    fs = ForecastSeries.__table__.c
    series = session.execute(_series_query(run.id, brand_id, sku, Location.code, Location.province, Product.sku,
                                           fs.mean, fs.quantiles)).all()
    horizon, weeks = run.horizon, _weeks(run)
    rows: list = []
    if series:
        qnames = sorted({q for r in series for q in (r[4] or {})}, key=lambda q: int(q[1:]))
        n = len(series)
        frame = pd.DataFrame({
            "store": np.repeat([r[0] for r in series], horizon),
            "province": np.repeat([r[1] or "" for r in series], horizon),
            "sku": np.repeat([r[2] for r in series], horizon),
            "week": np.tile(np.array([pd.Timestamp(w) for w in weeks], dtype="datetime64[ns]"), n),
            "mean": np.array([_padded(r[3], horizon) for r in series], dtype=float).ravel(),
            **{q: np.array([_padded((r[4] or {}).get(q), horizon) for r in series], dtype=np.int64).ravel()
               for q in qnames},
        })
        frame.attrs["dispersion"] = run.dispersion or {}
        group_cols = ["sku"] if level == "network" else ["province", "sku"]
        out = aggregate(frame, group_cols, dispersion=run.dispersion or None)  # sorted by group, then week
        means = out["mean"].to_numpy()
        qs = {q: out[q].to_numpy() for q in qnames}
        skus = out["sku"].to_numpy()
        provinces = out["province"].to_numpy() if level == "province" else None
        for start in range(0, len(out), horizon):  # every group has the run's horizon of weeks
            weekly = _rows_of(run, weeks, means[start:start + horizon],
                              {q: v[start:start + horizon] for q, v in qs.items()})
            if level == "network":
                rows.append(((str(skus[start]),), ForecastRow(run.id, str(skus[start]), None, None, weekly)))
            else:
                province = str(provinces[start])
                rows.append(((province, str(skus[start])),
                             ForecastRow(run.id, str(skus[start]), province, None, weekly)))
    rows.sort(key=lambda item: item[0])
    kept = ([k for k, _ in rows], [r for _, r in rows])
    with _SUMS_LOCK:
        if len(_SUMS) >= SUMS_KEPT:
            _SUMS.pop(next(iter(_SUMS)))
        _SUMS[key] = kept
    return kept


_KEYS: dict[tuple, tuple[list, list]] = {}
KEYS_KEPT = 16


def _store_keys(session: Session, run, brand_id: int, sku: str) -> tuple[list, list]:
    """The (store, sku) keys of the brand's series in a run, in order, with (location id, product id,
    province): kept per run like the sums, so that a page is a slice and then a lookup by primary key."""
    key = (_run_key(session, run), brand_id, sku)
    with _SUMS_LOCK:
        kept = _KEYS.get(key)
    if kept is not None:
        return kept
    fs = ForecastSeries.__table__.c
    rows = session.execute(_series_query(run.id, brand_id, sku, Location.code, Product.sku, fs.location_id,
                                         fs.product_id, Location.province)).all()
    rows = sorted(rows, key=lambda r: (r[0], r[1]))
    kept = ([(r[0], r[1]) for r in rows], [(r[2], r[3], r[4]) for r in rows])
    with _SUMS_LOCK:
        if len(_KEYS) >= KEYS_KEPT:
            _KEYS.pop(next(iter(_KEYS)))
        _KEYS[key] = kept
    return kept


@query
def forecast_version(session: Session) -> tuple | None:
    """What names the latest run (its database, id and time of creation), None before any run: `forecast`
    gives the same page for the same version and arguments, so callers may keep pages by it."""
    run = _latest_run(session)
    return None if run is None else _run_key(session, run)


@query
def forecast(session: Session, *, brand_id: int, level: str, sku: str = "", after: list | None = None,
             limit: int = 50) -> list[ForecastRow]:
    """A page of the latest run's forecast of the brand's SKUs at `level` (network, province or store),
    ordered by (sku,), (province, sku) or (store, sku); [] when no run is stored. Store level is read as
    stored, a page at a time; province and network sums are made once per run (`_summed`)."""
    if level not in ("network", "province", "store"):
        raise errors.InvalidValue(field="level", value=level)
    run = _latest_run(session)
    if run is None:
        return []
    if level != "store":
        keys, rows = _summed(session, run, brand_id, level, sku)
        start = bisect.bisect_right(keys, tuple(after)) if after is not None else 0
        return rows[start:start + limit]
    fs = ForecastSeries.__table__.c
    keys, ids = _store_keys(session, run, brand_id, sku)
    start = bisect.bisect_right(keys, tuple(after)) if after is not None else 0
    wanted = [(keys[i], ids[i]) for i in range(start, min(start + limit, len(keys)))]
    if not wanted:
        return []
    stored = {(r.location_id, r.product_id): (r.mean, r.quantiles) for r in session.execute(
        select(fs.location_id, fs.product_id, fs.mean, fs.quantiles).where(
            fs.run_id == run.id, fs.location_id.in_({i[0] for _, i in wanted}),
            fs.product_id.in_({i[1] for _, i in wanted})))}
    page = [(key[0], province, key[1], *stored[(location_id, product_id)])
            for key, (location_id, product_id, province) in wanted]
    weeks = _weeks(run)
    qnames = sorted({q for r in page for q in (r[4] or {})}, key=lambda q: int(q[1:]))
    return [ForecastRow(run.id, r[2], r[1], r[0], _rows_of(run, weeks, _padded(r[3], run.horizon), {
        q: _padded((r[4] or {}).get(q), run.horizon) for q in qnames})) for r in page]
