"""Forecast runs: weekly sales read from the stock ledger, `forecasting.forecast`, compact storage.

The input follows the library's contract (`weekly_sales.forecast_input`): the weeks that say
something (a sale, a stockout, a missed sale) and the weeks each store carried each SKU.

One row per store x SKU holds the horizon's weekly means and quantiles (JSON lists), bulk
inserted; a run for a start week that already exists is returned, not repeated.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select
from sqlmodel import Session

import forecasting
from retail.models import (
    Brand,
    ForecastRun,
    ForecastSeries,
    Location,
    LocationKind,
    MissedSale,
    Movement,
    Product,
)
from retail.services import audit
from retail.services.verbs import job, query
from retail.services.weekly_sales import (
    DEFAULT_TIMEZONE,
    SALES_COLUMNS,
    forecast_input,
    week_start,
    weekly_missed,
)
from retail.services.weekly_sales import weekly_sales as ledger_weekly_sales

BATCH = 5000
QUANTILES = (0.5, 0.8, 0.95)


@query
def master_frames(session: Session) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Products (sku, brand, category, dates, prices, pack, lead time, MOQ) and stores, as forecasting wants them."""
    rows = session.execute(select(Product, Brand).join(Brand, Brand.id == Product.brand_id)).all()
    products = pd.DataFrame([{
        "sku": p.sku, "product_id": p.id, "brand": b.code, "brand_id": b.id, "category": p.category,
        "launch_date": pd.Timestamp(p.launch_date), "eol_date": pd.Timestamp(p.eol_date) if p.eol_date else pd.NaT,
        "list_price": float(p.list_price_cny), "unit_cost": float(p.wholesale_cost), "pack_size": p.pack_size,
        "lead_time_weeks": -(-b.lead_time_days // 7), "moq": b.moq,
    } for p, b in rows], columns=["sku", "product_id", "brand", "brand_id", "category", "launch_date", "eol_date",
                                  "list_price", "unit_cost", "pack_size", "lead_time_weeks", "moq"])
    locations = session.execute(select(Location)).scalars().all()
    codes = {loc.id: loc.code for loc in locations}
    stores = pd.DataFrame([{
        "store": loc.code, "location_id": loc.id, "province": loc.province, "city": loc.city, "tier": loc.city_tier,
        "market": loc.market, "size_class": loc.size_class, "dc": codes.get(loc.dc_id), "dc_id": loc.dc_id,
        "timezone": loc.timezone, "status": loc.status,
    } for loc in locations if loc.kind == LocationKind.store],
        columns=["store", "location_id", "province", "city", "tier", "market", "size_class", "dc", "dc_id",
                 "timezone", "status"])
    return products, stores


@query
def weekly_sales(session: Session, stores: pd.DataFrame) -> pd.DataFrame:
    """store, sku, week, units, in_stock from the ledger: `retail.services.weekly_sales` on the store movements,
    weeks by the store's local Monday."""
    m = Movement.__table__.c
    rows = session.execute(
        select(m.ts, Location.code.label("location"), Product.sku, m.kind, m.quantity)
        .join(Location, Location.id == m.location_id).join(Product, Product.id == m.product_id)
        .where(Location.kind == LocationKind.store)
    ).all()
    movements = pd.DataFrame(rows, columns=["ts", "location", "sku", "kind", "quantity"])
    if movements.empty:
        return pd.DataFrame(columns=SALES_COLUMNS)
    return ledger_weekly_sales(movements, stores.rename(columns={"store": "code"}))


@query
def missed_sales(session: Session, stores: pd.DataFrame) -> pd.DataFrame:
    """store, sku, week, missed: the missed sales recorded at the stores, by the store's local week."""
    rows = session.execute(
        select(MissedSale.ts, Location.code.label("location"), Product.sku, MissedSale.quantity)
        .join(Location, Location.id == MissedSale.store_id).join(Product, Product.id == MissedSale.product_id)
    ).all()
    return weekly_missed(pd.DataFrame(rows, columns=["ts", "location", "sku", "quantity"]),
                         stores.rename(columns={"store": "code"}))


@job
def run_forecast(
    session: Session, *, start: date | None = None, horizon: int = 13, actor_id: int | None = None,
    progress: bool = False,
) -> ForecastRun:
    """Forecast every store x SKU from the ledger's weekly sales and store the run (one per start week)."""
    # A run for this start week already stored: return it before reading the whole ledger.
    done = _existing(session, start or ledger_next_week(session), horizon)
    if done is not None:
        return done
    products, stores = master_frames(session)
    sales = weekly_sales(session, stores)
    if start is None:
        if sales.empty:
            raise ValueError("no sales in the ledger: pass start= to forecast new launches")
        start = (sales["week"].max() + pd.Timedelta(weeks=1)).date()
    existing = _existing(session, start, horizon)
    if existing is not None:
        return existing
    began = time.perf_counter()
    # The contract: rows only for weeks that say something, the carried weeks in the assortment.
    sales, assortment = forecast_input(sales, missed_sales(session, stores))
    frame = forecasting.forecast(sales, horizon=horizon, quantiles=QUANTILES, products=products.set_index("sku"),
                                 stores=stores.set_index("store"), assortment=assortment, start=pd.Timestamp(start),
                                 progress=progress)
    run = ForecastRun(start_week=start, horizon=horizon, quantiles=list(QUANTILES),
                      dispersion=frame.attrs.get("dispersion"))
    session.add(run)
    session.flush()
    frame = frame.sort_values(["store", "sku", "week"])
    pairs = frame[["store", "sku"]].iloc[::horizon].reset_index(drop=True)
    location_id = pairs["store"].map(stores.set_index("store")["location_id"]).to_numpy()
    product_id = pairs["sku"].map(products.set_index("sku")["product_id"]).to_numpy()
    mean = np.round(frame["mean"].to_numpy(dtype=float).reshape(-1, horizon), 4).tolist()
    qcols = [c for c in frame.columns if c.startswith("p") and c[1:].isdigit()]
    qs = {c: frame[c].to_numpy().reshape(-1, horizon).tolist() for c in qcols}
    rows = [{"run_id": run.id, "location_id": int(location_id[i]), "product_id": int(product_id[i]),
             "mean": mean[i], "quantiles": {c: qs[c][i] for c in qcols}} for i in range(len(pairs))]
    for lo in range(0, len(rows), BATCH):
        session.execute(insert(ForecastSeries), rows[lo:lo + BATCH])
    run.series = len(rows)
    run.seconds = round(time.perf_counter() - began, 2)
    audit.record(session, actor_id=actor_id, action="forecast.run", entity="forecast_run", entity_id=run.id,
                 detail={"start_week": str(start), "horizon": horizon, "series": len(rows)})
    session.commit()
    return run


def _existing(session: Session, start: date | None, horizon: int) -> ForecastRun | None:
    if start is None:
        return None
    return session.execute(
        select(ForecastRun).where(ForecastRun.start_week == start, ForecastRun.horizon == horizon)
    ).scalars().first()


@query
def ledger_next_week(session: Session) -> date | None:
    """The Monday after the week of the ledger's last day, from two MAX queries.

    `weekly_sales` carries stock-holding weeks up to that last day (the latest movement in
    the default time zone, or a store's latest local day if later), so this is the default
    start week whenever any store holds stock at the end; when none does it is later than
    the frame's, and no run exists for it (runs are made from the frame, and the ledger only
    grows), so it is used only to find a run already stored.
    """
    m = Movement.__table__.c
    last = session.execute(select(func.max(m.ts))).scalar_one_or_none()
    if last is None:
        return None
    weeks = [week_start(last, DEFAULT_TIMEZONE)]
    per_zone = session.execute(
        select(Location.timezone, func.max(m.ts)).join(Location, Location.id == m.location_id)
        .where(Location.kind == LocationKind.store).group_by(Location.timezone)
    ).all()
    weeks += [week_start(ts, tz) for tz, ts in per_zone if ts]
    return max(weeks) + timedelta(weeks=1)


@query
def latest_run(session: Session) -> ForecastRun | None:
    return session.execute(select(ForecastRun).order_by(ForecastRun.start_week.desc(), ForecastRun.id.desc())
                           ).scalars().first()


@query
def forecast_frame(session: Session, *, run_id: int) -> pd.DataFrame:
    """A stored run back in the shape of forecasting.forecast (store, sku, week, mean, p50, ...)."""
    run = session.get(ForecastRun, run_id)
    if run is None:
        from retail import errors

        raise errors.NotFound(what="Forecast run", key=run_id)
    rows = session.execute(
        select(Location.code, Product.sku, ForecastSeries.mean, ForecastSeries.quantiles)
        .join(Location, Location.id == ForecastSeries.location_id).join(Product, Product.id == ForecastSeries.product_id)
        .where(ForecastSeries.run_id == run_id)
    ).all()
    h = run.horizon
    weeks = pd.date_range(pd.Timestamp(run.start_week), periods=h, freq="7D")
    data = {"store": np.repeat([r[0] for r in rows], h), "sku": np.repeat([r[1] for r in rows], h),
            "week": np.tile(weeks.to_numpy(), len(rows)),
            "mean": np.array([v for r in rows for v in r[2]], dtype=float)}
    for col in (rows[0][3] if rows else {}):
        data[col] = np.array([v for r in rows for v in r[3][col]], dtype=np.int64)
    frame = pd.DataFrame(data)
    frame.attrs["dispersion"] = run.dispersion or {}
    return frame


def next_monday(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


@dataclass(frozen=True)
class ForecastWeek:
    week: date
    low: float
    mean: float
    high: float
    low_q: int  # the quantiles bounding the band, in percent
    high_q: int


@query
def store_forecast(session: Session, *, store_id: int, sku: str, as_of: datetime) -> list[ForecastWeek]:
    """The latest stored forecast of a SKU at the store: weekly mean and the band between the lowest
    and highest stored quantiles; [] when the forecasting job has stored none for it.

    Its weeks are the run's: `run_forecast` starts the week after the last week of
    `forecasts.weekly_sales`, so they are local Mondays (`weekly_sales.week_start`) like the bars of
    `weekly_sales` above, and the band continues the chart on the same week rule."""
    # The latest run first, then its series by primary key (run, store, product): a lookup, not a scan.
    run = session.execute(select(ForecastRun.id, ForecastRun.start_week)
                          .order_by(ForecastRun.start_week.desc(), ForecastRun.id.desc()).limit(1)).first()
    product_id = session.execute(select(Product.id).where(Product.sku == sku)).scalar()
    if run is None or product_id is None:
        return []
    series = session.get(ForecastSeries, (run.id, store_id, product_id))
    if series is None or not series.quantiles:
        return []
    keys = sorted(series.quantiles, key=lambda k: int(k[1:]))
    low, high = series.quantiles[keys[0]], series.quantiles[keys[-1]]
    return [ForecastWeek(run.start_week + timedelta(weeks=i), float(low[i]), float(mean), float(high[i]),
                         int(keys[0][1:]), int(keys[-1][1:])) for i, mean in enumerate(series.mean)]
