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

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

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


@query
def stock(session: Session, *, brand_id: int, level: str, sku: str = "", after: list | None = None,
          limit: int = 50, as_of: datetime) -> list[StockRow]:
    """A page of the brand's stock at `level` (sku, province or store), `limit` rows after `after`
    (the previous page's last (sku,), (province, sku) or (store, sku))."""
    if level not in LEVELS:
        raise errors.InvalidValue(field="level", value=level)
    b = StockBalance.__table__.c
    if level == "sku":
        keys = [Product.sku]
        statement = (select(Product.sku, Product.id.label("product_id"),
                            func.coalesce(func.sum(b.on_hand), 0).label("on_hand"),
                            func.coalesce(func.sum(b.in_transit), 0).label("in_transit"))
                     .select_from(Product).outerjoin(StockBalance, b.product_id == Product.id)
                     .group_by(Product.sku, Product.id))
    else:
        group = Location.province if level == "province" else Location.code
        keys = [group, Product.sku]
        columns = [group.label("grp"), Product.sku, func.min(Product.id).label("product_id"),
                   func.sum(b.on_hand).label("on_hand"), func.sum(b.in_transit).label("in_transit")]
        statement = (select(*columns).select_from(StockBalance)
                     .join(Product, Product.id == b.product_id).join(Location, Location.id == b.location_id)
                     .where(Location.kind == LocationKind.store).group_by(group, Product.sku))
        if level == "store":
            statement = statement.add_columns(func.min(Location.province).label("province"))
    statement = statement.where(Product.brand_id == brand_id)
    if sku:
        statement = statement.where(Product.sku == sku)
    if after is not None:
        statement = statement.where(_after(keys, after))
    rows = session.execute(statement.order_by(*keys).limit(limit)).all()
    if not rows:
        return []
    since = as_of - timedelta(weeks=SALES_WEEKS)
    m = Movement.__table__.c
    sold_q = (select(m.product_id, func.sum(-m.quantity))
              .where(m.kind == MovementKind.sale, m.ts > since, m.ts <= as_of,
                     m.product_id.in_({r.product_id for r in rows})))
    if level == "sku":
        sold = {(pid,): units for pid, units in session.execute(sold_q.group_by(m.product_id)).all()}
        key_of = [(r.product_id,) for r in rows]
    else:
        group = Location.province if level == "province" else Location.code
        sold_q = (sold_q.add_columns(group).join(Location, Location.id == m.location_id)
                  .where(Location.kind == LocationKind.store, group.in_({r.grp for r in rows}))
                  .group_by(m.product_id, group))
        sold = {(pid, grp): units for pid, units, grp in session.execute(sold_q).all()}
        key_of = [(r.product_id, r.grp) for r in rows]
    out = []
    for row, key in zip(rows, key_of, strict=True):
        weekly = round(float(sold.get(key) or 0) / SALES_WEEKS, 3)
        on_hand, in_transit = int(row.on_hand or 0), int(row.in_transit or 0)
        cover = round(on_hand / weekly, 2) if weekly > 0 else None
        province = row.grp if level == "province" else (row.province if level == "store" else None)
        out.append(StockRow(sku=row.sku, province=province, store=row.grp if level == "store" else None,
                            on_hand=on_hand, in_transit=in_transit, weekly_sales=weekly, weeks_of_cover=cover))
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
    return session.execute(select(ForecastRun).order_by(ForecastRun.start_week.desc(), ForecastRun.id.desc())
                           .limit(1)).scalars().first()


@query
def forecast(session: Session, *, brand_id: int, level: str, sku: str = "", after: list | None = None,
             limit: int = 50) -> list[ForecastRow]:
    """A page of the latest run's forecast of the brand's SKUs at `level` (network, province or store),
    ordered by (sku,), (province, sku) or (store, sku); [] when no run is stored."""
    if level not in ("network", "province", "store"):
        raise errors.InvalidValue(field="level", value=level)
    run = _latest_run(session)
    if run is None:
        return []
    fs = ForecastSeries.__table__.c

    def series_of(*columns):
        statement = (select(*columns).select_from(ForecastSeries).join(Product, Product.id == fs.product_id)
                     .join(Location, Location.id == fs.location_id)
                     .where(fs.run_id == run.id, Product.brand_id == brand_id))
        return statement.where(Product.sku == sku) if sku else statement

    keys = {"network": [Product.sku], "province": [Location.province, Product.sku],
            "store": [Location.code, Product.sku]}[level]
    page_q = series_of(*keys)
    if level != "store":
        page_q = page_q.distinct()
    if after is not None:
        page_q = page_q.where(_after(keys, after))
    page = [tuple(r) for r in session.execute(page_q.order_by(*keys).limit(limit)).all()]
    if not page:
        return []
    series_q = series_of(Location.code, Location.province, Product.sku, fs.mean, fs.quantiles)
    if level == "network":
        series_q = series_q.where(Product.sku.in_([p[0] for p in page]))
    else:
        series_q = series_q.where(keys[0].in_({p[0] for p in page}), Product.sku.in_({p[1] for p in page}))
    wanted = set(page)
    series = [r for r in session.execute(series_q).all()
              if level == "network" or (r[1 if level == "province" else 0], r[2]) in wanted]
    horizon = run.horizon
    weeks = [pd.Timestamp(run.start_week + timedelta(weeks=i)) for i in range(horizon)]
    qnames = sorted({q for r in series for q in (r[4] or {})}, key=lambda q: int(q[1:]))

    def padded(values) -> list:
        values = list(values or [])[:horizon]
        return values + [0] * (horizon - len(values))

    frame = pd.DataFrame({
        "store": [r[0] for r in series for _ in weeks], "province": [r[1] for r in series for _ in weeks],
        "sku": [r[2] for r in series for _ in weeks], "week": weeks * len(series),
        "mean": [float(v) for r in series for v in padded(r[3])],
        **{q: [int(v) for r in series for v in padded((r[4] or {}).get(q))] for q in qnames},
    })
    frame.attrs["dispersion"] = run.dispersion or {}
    group_cols = {"network": ["sku"], "province": ["province", "sku"], "store": ["store", "sku"]}[level]
    summed = frame if level == "store" else aggregate(frame, group_cols, dispersion=run.dispersion or None)
    province_of = {r[0]: r[1] for r in series}
    out = []
    for key, rows in summed.groupby(group_cols, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        found = [ForecastWeekRow(week=pd.Timestamp(r["week"]).date(), mean=round(float(r["mean"]), 3),
                                 quantiles={q: int(r[q]) for q in qnames})
                 for r in rows.sort_values("week").to_dict("records")]
        if level == "network":
            out.append(ForecastRow(run.id, key[0], None, None, found))
        elif level == "province":
            out.append(ForecastRow(run.id, key[1], key[0], None, found))
        else:
            out.append(ForecastRow(run.id, key[1], province_of.get(key[0]), key[0], found))
    order = {tuple(p): i for i, p in enumerate(page)}
    out.sort(key=lambda r: order.get((r.sku,) if level == "network" else
                                     ((r.province if level == "province" else r.store), r.sku), 0))
    return out
