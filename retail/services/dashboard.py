"""The planners' dashboard (issue 16): the network's turnover, cover, fill rate, stockouts, aged stock and
sell-through by brand, province, city tier, partnership model and store, forecast accuracy, and the action
lists (orders awaiting approval, proposed transfers, purchase proposals) with their bulk decisions.

- `refresh` (a job, run weekly after the plan: `flask --app wsgi dashboard refresh`) reads the store ledger
  once, builds the weekly stock panel (store x SKU x week: sold, demand, opening, received, closing, in stock)
  of the last 52 weeks by the week rule (`weekly_sales`), and stores additive sums per week and segment in
  `dashboard_week` (and each stored forecast run's first week against the units sold, per brand, in
  `dashboard_accuracy`). A re-run replaces the rows in one transaction.
- The page reads (`@query`) add those rows up and hand them to `forecasting.kpis`, the one definition of
  each KPI (turnover, weeks of cover, sell-through, fill rate, stockout weeks, aged stock): nothing here
  restates a KPI. The store and SKU levels read the ledger live (one store is small).
- `decide_orders`, `decide_transfers`, `decide_purchases` (`@verb(NETWORK)`): one by one or in bulk, all or
  nothing, through the existing verbs (`replenishment.approve`/`cancel`, `transfers.request_transfer` and
  `ship_transfer`), audited; a proposal is decided once (`plan_decision`, unique).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Text, cast, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from forecasting import kpis
from retail import errors
from retail.models import (
    Brand,
    DashboardAccuracy,
    DashboardWeek,
    ForecastRun,
    ForecastSeries,
    Location,
    LocationKind,
    MissedSale,
    Movement,
    MovementKind,
    OrderStatus,
    PlanDecision,
    Product,
    PurchaseProposal,
    ReplenishmentOrder,
    ReplenishmentOrderLine,
    ReplenishmentRun,
    SerialState,
    SerialUnit,
    StockBalance,
    TransferProposal,
    User,
    utcnow,
)
from retail.services import audit, replenishment, transfers
from retail.services.stock import RATE_WEEKS
from retail.services.verbs import NETWORK, job, query, verb
from retail.services.weekly_sales import DEFAULT_TIMEZONE
from retail.services.weekly_sales import weekly_sales as ledger_weekly_sales

WEEKS = 52
BATCH = 5000
SEGMENTS = ("network", "brand", "province", "tier", "partnership", "brand_province", "brand_store")
SUMS = ["sold_units", "sold_cost", "demand_units", "opening_units", "received_units", "closing_units",
        "closing_cost", "stockout_weeks", "aged_units", "aged_cost", "cells"]
KPIS = ("turnover", "cover", "fill_rate", "stockout_weeks", "aged_value", "sell_through")
_ONE = pd.Series({"*": 1.0})  # rows already valued at cost: unit cost 1


class ProposalDecided(errors.DomainError):
    code = "proposal_decided"
    message = "Proposal {proposal} was already {decision}."


# ------------------------------------------------------------------------------------------- the weekly job
def _local_week(ts: pd.Series, zones: pd.Series) -> np.ndarray:
    """The week rule (`weekly_sales.week_start`) for a column of UTC times: the local Monday, as datetime64[D]."""
    out = np.empty(len(ts), "datetime64[D]")
    for zone, idx in zones.groupby(zones.to_numpy()).indices.items():
        local = ts.iloc[idx].dt.tz_convert(zone).dt.tz_localize(None).to_numpy().astype("datetime64[D]")
        weekday = (local.astype(np.int64) + 3) % 7  # 1970-01-05 (day 4) is a Monday
        out[idx] = local - weekday.astype("timedelta64[D]")
    return out


@dataclass
class Panel:
    """The weekly stock panel of the window (one row per store x SKU x week) and what it was built from."""
    as_of: date
    frame: pd.DataFrame  # location_id, product_id, week, sold, demand, opening, received, closing, in_stock, aged
    products: pd.DataFrame  # indexed by product id: sku, brand_id, cost
    stores: pd.DataFrame  # indexed by location id: code, province, tier, partnership, timezone


def _masters(session: Session) -> tuple[pd.DataFrame, pd.DataFrame]:
    products = pd.DataFrame(session.execute(select(Product.id, Product.sku, Product.brand_id, Product.wholesale_cost)).all(),
                            columns=["product_id", "sku", "brand_id", "cost"]).set_index("product_id")
    products["cost"] = products["cost"].astype(float)
    stores = pd.DataFrame(session.execute(
        select(Location.id, Location.code, Location.province, Location.city, Location.city_tier, Location.partnership,
               Location.timezone).where(Location.kind == LocationKind.store)).all(),
        columns=["location_id", "code", "province", "city", "tier", "partnership", "timezone"]).set_index("location_id")
    stores["province"] = stores["province"].where(stores["province"].astype(bool), stores["city"])
    stores["timezone"] = stores["timezone"].fillna(DEFAULT_TIMEZONE)
    stores["partnership"] = stores["partnership"].fillna("")
    return products, stores


@query
def panel(session: Session, *, as_of: date, weeks: int = WEEKS, store_ids=None) -> Panel:
    """The weekly stock panel of the `weeks` weeks before `as_of` (a Monday), from the whole store ledger.

    closing is the running sum of the ledger's signed quantities (the sellable stock at the week's end);
    in_stock is `weekly_sales`' share of days in stock; a store x SKU week between two weeks with stock and
    no stock at all is in the panel with in_stock 0 (the store carried it and its shelf was empty); demand is
    sold plus the missed sales recorded; aged is `kpis.is_aged` at the week's end."""
    products, stores = _masters(session)
    if store_ids is not None:
        stores = stores.loc[stores.index.intersection(list(store_ids))]
    m = Movement.__table__.c
    q = select(m.ts, m.location_id, m.product_id, m.kind, m.quantity).where(
        m.location_id.in_(select(Location.id).where(Location.kind == LocationKind.store)))
    if store_ids is not None:
        q = q.where(m.location_id.in_(list(store_ids)))
    mv = pd.DataFrame([tuple(r) for r in session.execute(q).all()],
                      columns=["ts", "location_id", "product_id", "kind", "quantity"])
    start = pd.Timestamp(as_of) - pd.Timedelta(weeks=weeks)
    columns = ["location_id", "product_id", "week", "sold", "demand", "opening", "received", "closing", "in_stock",
               "aged"]
    if mv.empty:
        return Panel(as_of, pd.DataFrame(columns=columns), products, stores)
    mv["ts"] = pd.to_datetime(mv["ts"], utc=True)
    mv = mv[mv["ts"] < pd.Timestamp(as_of).tz_localize(DEFAULT_TIMEZONE).tz_convert("UTC") + pd.Timedelta(days=1)]
    zones = mv["location_id"].map(stores["timezone"]).fillna(DEFAULT_TIMEZONE)
    mv["week"] = _local_week(mv["ts"], zones)
    mv = mv[mv["week"] < np.datetime64(as_of)]
    # in_stock by the ledger's own weekly rule (codes as strings, as `weekly_sales` names them)
    ws = ledger_weekly_sales(
        pd.DataFrame({"ts": mv["ts"], "location": mv["location_id"].astype(str), "sku": mv["product_id"].astype(str),
                      "kind": mv["kind"], "quantity": mv["quantity"]}),
        pd.DataFrame({"code": stores.index.astype(str), "timezone": stores["timezone"].to_numpy()}))
    ws = pd.DataFrame({"location_id": ws["store"].astype(np.int64), "product_id": ws["sku"].astype(np.int64),
                       "week": ws["week"].to_numpy().astype("datetime64[D]"), "in_stock": ws["in_stock"].astype(float)})
    qty = mv["quantity"].to_numpy()
    kind = mv["kind"].to_numpy()
    mv = mv.assign(sold=np.where(kind == MovementKind.sale, -qty, 0),
                   received=np.where(np.isin(kind, [MovementKind.receipt, MovementKind.transfer_in]), qty, 0))
    net = mv.groupby(["location_id", "product_id", "week"], as_index=False)[["quantity", "sold", "received"]].sum()
    grid = net.merge(ws, on=["location_id", "product_id", "week"], how="outer").fillna(
        {"quantity": 0, "sold": 0, "received": 0, "in_stock": 0.0})
    grid = grid.sort_values(["location_id", "product_id", "week"], kind="stable").reset_index(drop=True)
    cell = grid["location_id"].to_numpy(np.int64) * 1_000_003 + grid["product_id"].to_numpy(np.int64)
    grid["closing"] = grid.groupby(cell)["quantity"].cumsum()
    grid["opening"] = grid["closing"] - grid["quantity"]
    sold_week = pd.Series(np.where(grid["sold"].to_numpy() > 0, grid["week"].to_numpy(), np.datetime64("NaT")),
                          dtype="datetime64[ns]")
    grid["last_sale"] = sold_week.groupby(cell).ffill().to_numpy()
    # Weeks with no stock at all between two rows of a cell: carried, shelf empty (in_stock 0).
    w0, w1 = np.datetime64(start.date(), "D"), np.datetime64(as_of, "D")
    week_no = (grid["week"].to_numpy().astype("datetime64[D]").astype(np.int64) + 3) // 7
    first = np.r_[True, cell[1:] != cell[:-1]]
    gap = np.zeros(len(grid), np.int64)
    gap[~first] = week_no[~first] - week_no[np.nonzero(~first)[0] - 1] - 1
    holes = np.nonzero(gap > 0)[0]
    if len(holes):
        rep = np.repeat(holes - 1, gap[holes])
        offset = np.concatenate([np.arange(1, g + 1) for g in gap[holes]])
        fill = grid.iloc[rep].reset_index(drop=True)
        fill["week"] = (fill["week"].to_numpy().astype("datetime64[D]") + (offset * 7).astype("timedelta64[D]"))
        fill[["quantity", "sold", "received"]] = 0
        fill["in_stock"] = 0.0
        fill["opening"] = fill["closing"]
        grid = pd.concat([grid, fill], ignore_index=True)
    grid["week"] = grid["week"].to_numpy().astype("datetime64[D]")
    grid = grid[(grid["week"] >= w0) & (grid["week"] < w1)].reset_index(drop=True)
    ms = MissedSale.__table__.c
    missed = pd.DataFrame([tuple(r) for r in session.execute(select(ms.ts, ms.store_id, ms.product_id, ms.quantity)
                                                             .where(ms.ts >= start.tz_localize("UTC"))).all()],
                          columns=["ts", "location_id", "product_id", "missed"])
    if len(missed):
        missed["ts"] = pd.to_datetime(missed["ts"], utc=True)
        missed["week"] = _local_week(missed["ts"], missed["location_id"].map(stores["timezone"]).fillna(DEFAULT_TIMEZONE))
        missed = missed.groupby(["location_id", "product_id", "week"], as_index=False)["missed"].sum()
        grid = grid.merge(missed, on=["location_id", "product_id", "week"], how="left")
        grid["missed"] = grid["missed"].fillna(0)
    else:
        grid["missed"] = 0
    grid["demand"] = grid["sold"] + grid["missed"]
    # A weekly sale counts as made on the Sunday ending its week; the week is judged at its end (next Monday).
    since = (grid["week"] - pd.to_datetime(grid["last_sale"])).dt.days.to_numpy(dtype=float) + 1
    grid["aged"] = kpis.is_aged(grid["closing"].to_numpy(), since)
    grid = grid[grid["location_id"].isin(stores.index)]
    for c in ("sold", "demand", "opening", "received", "closing"):
        grid[c] = grid[c].astype(np.int64)
    return Panel(as_of, grid[columns].reset_index(drop=True), products, stores)


def segment_sums(p: Panel) -> pd.DataFrame:
    """The panel's additive sums per week and segment (the rows of `dashboard_week`)."""
    f = p.frame
    if f.empty:
        return pd.DataFrame(columns=["week", "segment", "brand_id", "location_id", "label", *SUMS])
    cost = f["product_id"].map(p.products["cost"]).to_numpy(dtype=float)
    st = p.stores.reindex(f["location_id"])
    base = pd.DataFrame({
        "week": f["week"].to_numpy(), "brand_id": f["product_id"].map(p.products["brand_id"]).to_numpy(),
        "location_id": f["location_id"].to_numpy(), "province": st["province"].to_numpy(),
        "tier": st["tier"].astype(str).to_numpy(), "partnership": st["partnership"].to_numpy(),
        "sold_units": f["sold"].to_numpy(), "sold_cost": f["sold"].to_numpy() * cost,
        "demand_units": f["demand"].to_numpy(), "opening_units": f["opening"].to_numpy(),
        "received_units": f["received"].to_numpy(), "closing_units": f["closing"].to_numpy(),
        "closing_cost": f["closing"].to_numpy() * cost,
        "stockout_weeks": kpis.is_stockout(f["in_stock"]).astype(np.int64),
        "aged_units": np.where(f["aged"], f["closing"], 0), "aged_cost": np.where(f["aged"], f["closing"] * cost, 0.0),
        "cells": 1})
    out = []
    for segment, keys in (("network", []), ("brand", ["brand_id"]), ("province", ["province"]), ("tier", ["tier"]),
                          ("partnership", ["partnership"]), ("brand_province", ["brand_id", "province"]),
                          ("brand_store", ["brand_id", "location_id", "province"])):
        g = base.groupby(["week", *keys], as_index=False)[SUMS].sum()
        g["segment"] = segment
        if "brand_id" not in keys:
            g["brand_id"] = None
        if "location_id" not in keys:
            g["location_id"] = None
        label = next((k for k in keys if k in ("province", "tier", "partnership")), None)
        g["label"] = g[label].astype(str) if label else ""
        out.append(g[["week", "segment", "brand_id", "location_id", "label", *SUMS]])
    return pd.concat(out, ignore_index=True)


def _accuracy(session: Session, p: Panel) -> list[dict]:
    """Each stored forecast run whose first week is in the window and over: its first week's mean against
    the units sold, per brand (forecast, actual, sum of absolute errors over store x SKU)."""
    runs = session.execute(select(ForecastRun).where(ForecastRun.start_week < p.as_of,
                                                     ForecastRun.start_week >= p.as_of - timedelta(weeks=WEEKS))
                           .order_by(ForecastRun.start_week, ForecastRun.id)).scalars().all()
    latest = {r.start_week: r for r in runs}  # the latest run of each start week
    f = p.frame
    out = []
    s = ForecastSeries.__table__.c
    for run in latest.values():
        raw = session.execute(select(s.location_id, s.product_id, cast(s.mean, Text)).where(s.run_id == run.id)).all()
        means = json.loads("[" + ",".join(r[2] for r in raw) + "]") if raw else []
        fc = pd.DataFrame({"location_id": [r[0] for r in raw], "product_id": [r[1] for r in raw],
                           "forecast": [float(m[0]) if m else 0.0 for m in means]})
        wk = f[f["week"] == np.datetime64(run.start_week)][["location_id", "product_id", "sold"]]
        both = fc.merge(wk, on=["location_id", "product_id"], how="outer").fillna(0.0)
        both["brand_id"] = both["product_id"].map(p.products["brand_id"])
        both["error"] = (both["forecast"] - both["sold"]).abs()
        for brand_id, g in both.groupby("brand_id"):
            out.append({"run_id": run.id, "week": run.start_week, "brand_id": int(brand_id),
                        "forecast_units": float(g["forecast"].sum()), "actual_units": int(g["sold"].sum()),
                        "abs_error": float(g["error"].sum())})
    return out


def _insert_conflict(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@job
def refresh(session: Session, *, as_of: date | None = None, progress=None, if_needed: bool = False) -> dict:
    """Recompute the dashboard's weekly figures up to `as_of` (a Monday, exclusive; default: the Monday after the
    ledger's latest week, at the latest this week's Monday in Shanghai) and replace the stored ones, in one
    transaction. Safe to re-run. `if_needed`: keep figures already computed up to that Monday (`make run`)."""
    step = progress or (lambda label: None)
    began = time.perf_counter()
    if as_of is None:
        last = session.execute(select(func.max(Movement.ts))).scalar()
        day = pd.Timestamp(last).tz_localize("UTC") if last is not None and pd.Timestamp(last).tzinfo is None \
            else pd.Timestamp(last or pd.Timestamp.now(tz="UTC"))
        day = day.tz_convert(DEFAULT_TIMEZONE).date()
        # complete weeks only: never past this week's Monday (a Monday-morning run leaves today's sales out)
        now = pd.Timestamp.now(tz=DEFAULT_TIMEZONE).date()
        as_of = min(day - timedelta(days=day.weekday()) + timedelta(weeks=1), now - timedelta(days=now.weekday()))
    if if_needed and session.execute(select(DashboardWeek.as_of).where(DashboardWeek.as_of == as_of).limit(1)).first():
        return {"as_of": as_of, "rows": 0, "panel_rows": 0, "accuracy_rows": 0, "seconds": 0.0, "kept": True}
    step("panel")
    p = panel(session, as_of=as_of)
    step("sums")
    sums = segment_sums(p)
    accuracy = _accuracy(session, p)
    step("store")
    session.execute(delete(DashboardWeek))
    session.execute(delete(DashboardAccuracy))
    records = sums.assign(as_of=as_of)
    records["week"] = pd.to_datetime(records["week"]).dt.date
    records = records.astype(object).where(records.notna(), None)
    rows = records.to_dict("records")
    for r in rows:
        for k in ("brand_id", "location_id"):
            r[k] = int(r[k]) if r[k] is not None else None
        for k in SUMS:
            r[k] = float(r[k]) if k.endswith("_cost") else int(r[k])
    for lo in range(0, len(rows), BATCH):
        session.execute(insert(DashboardWeek), rows[lo:lo + BATCH])
    if accuracy:
        session.execute(insert(DashboardAccuracy), accuracy)
    audit.record(session, actor_id=None, action="dashboard.refresh", entity="dashboard_week", entity_id=str(as_of),
                 detail={"rows": len(rows), "cells": int(len(p.frame))})
    session.commit()
    return {"as_of": as_of, "rows": len(rows), "panel_rows": int(len(p.frame)), "accuracy_rows": len(accuracy),
            "seconds": round(time.perf_counter() - began, 1)}


# ------------------------------------------------------------------------------------------------ the reads
def kpi_table(rows: pd.DataFrame, key: str) -> list[dict]:
    """The KPIs of each group of `dashboard_week` rows (grouped by `key`), by `forecasting.kpis`' elementwise
    forms, all groups at once. Over a group's weeks: turnover (annualised), fill rate, sell-through (from the
    first week's opening stock), stockout weeks; at its last week: weeks of cover (on the units sold in the
    last `RATE_WEEKS` weeks), aged stock and stock at cost."""
    if rows.empty:
        return []
    frame = rows.assign(_key=rows[key], week=pd.to_datetime(rows["week"]))
    g = frame.groupby(["_key", "week"], sort=True)[SUMS].sum().reset_index()
    groups = g.groupby("_key", sort=True)
    total = groups[SUMS].sum()
    weeks = groups.size()
    first, last = groups.head(1).set_index("_key"), groups.tail(1).set_index("_key")
    recent = g[g["week"] > g["_key"].map(groups["week"].max()) - pd.Timedelta(weeks=RATE_WEEKS)]
    rate = recent.groupby("_key")["sold_units"].sum().reindex(total.index, fill_value=0) / RATE_WEEKS
    values = {
        "turnover": kpis.turnover_rate(total["sold_cost"], total["closing_cost"], weeks),
        "cover": kpis.weeks_of_cover(last["closing_units"].reindex(total.index), rate),
        "fill_rate": kpis.fill_rate(total["sold_units"], total["demand_units"]),
        "stockout_weeks": total["stockout_weeks"].to_numpy(),
        "aged_value": last["aged_cost"].reindex(total.index).to_numpy(),
        "sell_through": kpis.sell_through_rate(total["sold_units"], first["opening_units"].reindex(total.index),
                                               total["received_units"]),
        "units_sold": total["sold_units"].to_numpy(),
        "stock_value": last["closing_cost"].reindex(total.index).to_numpy(),
    }
    out = []
    for i, k in enumerate(total.index):
        row = {"key": k.date() if isinstance(k, pd.Timestamp) else k}
        for name, column in values.items():
            v = float(column[i])
            row[name] = None if np.isnan(v) else (int(v) if name in ("stockout_weeks", "units_sold") else v)
        out.append(row)
    return out


def kpi_values(rows: pd.DataFrame) -> dict:
    """The KPIs of one set of rows (one segment over its weeks): `kpi_table` of a single group."""
    found = kpi_table(rows.assign(_all=0), "_all")
    if not found:
        return {k: None for k in (*KPIS, "units_sold", "stock_value")}
    return {k: v for k, v in found[0].items() if k != "key"}


def _rows(session: Session, segment: str, *, brand_id: int | None = None, label: str | None = None,
          location_id: int | None = None) -> pd.DataFrame:
    d = DashboardWeek.__table__.c
    q = select(d.week, d.brand_id, d.location_id, d.label, *[d[c] for c in SUMS]).where(d.segment == segment)
    if brand_id is not None:
        q = q.where(d.brand_id == brand_id)
    if label is not None:
        q = q.where(d.label == label)
    if location_id is not None:
        q = q.where(d.location_id == location_id)
    return pd.DataFrame([tuple(r) for r in session.execute(q).all()],
                        columns=["week", "brand_id", "location_id", "label", *SUMS])


def _trend(rows: pd.DataFrame) -> list[dict]:
    """Week by week: the KPIs of each week alone (turnover annualised from the week; cover on the units sold
    in the `RATE_WEEKS` weeks up to it)."""
    table = kpi_table(rows, "week")
    sold = np.array([r["units_sold"] for r in table], dtype=float)
    closing = rows.groupby("week", sort=True)["closing_units"].sum().to_numpy(dtype=float)
    rate = pd.Series(sold).rolling(RATE_WEEKS, min_periods=1).sum().to_numpy() / RATE_WEEKS
    cover = kpis.weeks_of_cover(closing, rate)
    for row, c in zip(table, np.atleast_1d(cover), strict=True):
        row["week"] = row.pop("key")
        row["cover"] = float(c)
    return table


def _breakdown(rows: pd.DataFrame, key: str) -> list[dict]:
    return kpi_table(rows, key)


@dataclass
class View:
    as_of: date | None
    totals: dict
    trend: list[dict]
    tables: dict  # name -> list of row dicts (key, KPIs, and names)


@query
def as_of(session: Session) -> date | None:
    return session.execute(select(func.max(DashboardWeek.as_of))).scalar()


@query
def network(session: Session) -> View:
    """The network's 52-week trend and its breakdowns by brand, province, city tier and partnership."""
    rows = _rows(session, "network")
    brands = dict(session.execute(select(Brand.id, Brand.name)).all())
    tables = {}
    for segment in ("brand", "province", "tier", "partnership"):
        seg = _rows(session, segment)
        key = "brand_id" if segment == "brand" else "label"
        table = _breakdown(seg, key)
        for row in table:
            row["name"] = brands.get(row["key"], str(row["key"])) if segment == "brand" else row["key"]
        tables[segment] = table
    return View(as_of(session), kpi_values(rows), _trend(rows), tables)


@query
def brand(session: Session, *, brand_id: int) -> tuple[Brand, View]:
    found = session.get(Brand, brand_id)
    if found is None:
        raise errors.NotFound(what="Brand", key=brand_id)
    rows = _rows(session, "brand", brand_id=brand_id)
    provinces = _breakdown(_rows(session, "brand_province", brand_id=brand_id), "label")
    for row in provinces:
        row["name"] = row["key"]
    return found, View(as_of(session), kpi_values(rows), _trend(rows), {"province": provinces})


@query
def brand_province(session: Session, *, brand_id: int, province: str) -> tuple[Brand, View]:
    found = session.get(Brand, brand_id)
    rows = _rows(session, "brand_province", brand_id=brand_id, label=province)
    if found is None or rows.empty:
        raise errors.NotFound(what="Brand in province", key=f"{brand_id} {province[:60]}")
    stores = _rows(session, "brand_store", brand_id=brand_id, label=province)
    names = {i: (code, name, city, city_zh) for i, code, name, city, city_zh in session.execute(
        select(Location.id, Location.code, Location.name, Location.city, Location.city_zh)
        .where(Location.id.in_([int(i) for i in stores["location_id"].unique()]))).all()}
    table = _breakdown(stores, "location_id")
    for row in table:
        code, name, city, city_zh = names.get(row["key"], ("", "", "", ""))
        row.update(code=code, name=name, city=city, city_zh=city_zh)
    return found, View(as_of(session), kpi_values(rows), _trend(rows), {"store": table})


@query
def brand_store(session: Session, *, brand_id: int, store_id: int) -> tuple[Brand, Location, View]:
    """A brand at one store: its trend (stored) and its SKUs as they are now (the ledger, live)."""
    found, store = session.get(Brand, brand_id), session.get(Location, store_id)
    if found is None or store is None or store.kind != LocationKind.store:
        raise errors.NotFound(what="Brand at store", key=f"{brand_id} {store_id}")
    rows = _rows(session, "brand_store", brand_id=brand_id, location_id=store_id)
    at = as_of(session)
    p = panel(session, as_of=at or date.today(), store_ids=[store_id])
    f = p.frame[p.frame["product_id"].map(p.products["brand_id"]) == brand_id]
    skus = []
    for product_id, g in f.groupby("product_id"):
        g = g.sort_values("week")
        cost = float(p.products.at[product_id, "cost"])
        cost_panel = pd.DataFrame({"week": g["week"].to_numpy(), "sku": "*", "sold": g["sold"] * cost,
                                   "closing": g["closing"] * cost})
        rate = g["sold"].iloc[-RATE_WEEKS:].sum() / RATE_WEEKS
        last = g.iloc[-1]
        turnover = kpis.turnover(cost_panel, _ONE)
        sell = kpis.sell_through(g.rename(columns={})[["week", "sold", "opening", "received"]])
        skus.append({"key": int(product_id), "sku": p.products.at[product_id, "sku"],
                     "on_hand": int(last["closing"]), "units_sold": int(g["sold"].sum()),
                     "turnover": None if np.isnan(turnover) else turnover,
                     "cover": float(kpis.weeks_of_cover(last["closing"], rate)),
                     "fill_rate": _nan(kpis.unit_fill_rate(g)), "stockout_weeks": kpis.stockout_weeks(g),
                     "aged_value": float(last["closing"] * cost) if bool(last["aged"]) else 0.0,
                     "sell_through": _nan(sell)})
    return found, store, View(at, kpi_values(rows), _trend(rows), {"sku": skus})


def _nan(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


@dataclass
class SkuView:
    store: Location
    product: Product
    on_hand: int
    in_transit: int
    weeks: list[tuple[date, int]]
    movements: list[tuple]  # ts, kind, quantity, reference


@query
def store_sku(session: Session, *, store_id: int, product_id: int, weeks: int = WEEKS) -> SkuView:
    """One SKU at one store: its weekly sales of the last year, its balance and its latest ledger rows."""
    store, product = session.get(Location, store_id), session.get(Product, product_id)
    if store is None or product is None or store.kind != LocationKind.store:
        raise errors.NotFound(what="SKU at store", key=f"{store_id} {product_id}")
    balance = session.get(StockBalance, (store_id, product_id))
    at = as_of(session) or date.today() + timedelta(days=7 - date.today().weekday())
    p = panel(session, as_of=at, weeks=weeks, store_ids=[store_id])
    f = p.frame[p.frame["product_id"] == product_id]
    sold = dict(zip(pd.to_datetime(f["week"]).dt.date, f["sold"].astype(int), strict=True))
    series = [(at - timedelta(weeks=weeks - i), sold.get(at - timedelta(weeks=weeks - i), 0)) for i in range(weeks)]
    m = Movement.__table__.c
    movements = [tuple(r) for r in session.execute(
        select(m.ts, m.kind, m.quantity, m.reference).where(m.location_id == store_id, m.product_id == product_id)
        .order_by(m.ts.desc(), m.id.desc()).limit(20)).all()]
    return SkuView(store, product, balance.on_hand if balance else 0, balance.in_transit if balance else 0, series,
                   movements)


@query
def accuracy(session: Session) -> dict:
    """Forecast accuracy of the stored runs' first weeks: per week (WAPE, bias) and per brand (bias, WAPE)."""
    a = DashboardAccuracy.__table__.c
    rows = pd.DataFrame([tuple(r) for r in session.execute(
        select(a.week, a.brand_id, a.forecast_units, a.actual_units, a.abs_error)).all()],
        columns=["week", "brand_id", "forecast", "actual", "error"])
    brands = dict(session.execute(select(Brand.id, Brand.name)).all())

    def measures(g: pd.DataFrame) -> dict:
        actual = float(g["actual"].sum())
        return {"forecast": float(g["forecast"].sum()), "actual": int(actual),
                "wape": float(g["error"].sum()) / actual if actual > 0 else None,
                "bias": float(g["forecast"].sum()) / actual - 1 if actual > 0 else None}

    by_week = [{"key": w, **measures(g)} for w, g in rows.groupby("week", sort=True)]
    by_brand = [{"key": int(b), "name": brands.get(int(b), str(b)), **measures(g)}
                for b, g in rows.groupby("brand_id", sort=True)]
    return {"week": by_week, "brand": by_brand}


# ------------------------------------------------------------------------------------------- action lists
@query
def actions(session: Session, *, limit: int = 200) -> dict:
    """What waits for a planner: submitted orders, the latest plan's undecided transfer and purchase proposals."""
    store = Location.__table__.alias("store")
    origin = Location.__table__.alias("origin")
    ol = ReplenishmentOrderLine.__table__.c
    units = select(ol.order_id, func.sum(ol.quantity).label("units")).group_by(ol.order_id).subquery()
    orders = [dict(r._mapping) for r in session.execute(
        select(ReplenishmentOrder.id, ReplenishmentOrder.reference, store.c.code.label("store"),
               ReplenishmentOrder.created_at, func.coalesce(units.c.units, 0).label("units"))
        .join(store, store.c.id == ReplenishmentOrder.location_id)
        .outerjoin(units, units.c.order_id == ReplenishmentOrder.id)
        .where(ReplenishmentOrder.status == OrderStatus.submitted)
        .order_by(ReplenishmentOrder.created_at, ReplenishmentOrder.id).limit(limit)).all()]
    run_id = session.execute(select(func.max(ReplenishmentRun.id))).scalar() or -1
    decided = select(PlanDecision.proposal_id)
    tp = TransferProposal
    proposals = [dict(r._mapping) for r in session.execute(
        select(tp.id, origin.c.code.label("from_store"), store.c.code.label("to_store"), Product.sku,
               tp.quantity, tp.expected_gain)
        .join(origin, origin.c.id == tp.from_location_id).join(store, store.c.id == tp.to_location_id)
        .join(Product, Product.id == tp.product_id)
        .where(tp.run_id == run_id, tp.id.not_in(decided.where(PlanDecision.kind == "transfer")))
        .order_by(tp.expected_gain.desc(), tp.id).limit(limit)).all()]
    pp = PurchaseProposal
    purchases = [dict(r._mapping) for r in session.execute(
        select(pp.id, Brand.name.label("brand"), origin.c.code.label("dc"), Product.sku, pp.quantity,
               pp.arrival_week)
        .join(Brand, Brand.id == pp.brand_id).join(origin, origin.c.id == pp.dc_id)
        .join(Product, Product.id == pp.product_id)
        .where(pp.run_id == run_id, pp.id.not_in(decided.where(PlanDecision.kind == "purchase")))
        .order_by(Brand.name, Product.sku, pp.id).limit(limit)).all()]
    return {"orders": orders, "transfers": proposals, "purchases": purchases}


def _claim(session: Session, actor: User, kind: str, proposal_id: int, decision: str) -> int:
    """Record the decision first (unique per proposal): a second decision, concurrent or later, is refused."""
    table = PlanDecision.__table__
    made = session.execute(_insert_conflict(session)(table).values(
        kind=kind, proposal_id=proposal_id, decision=decision, decided_by=actor.id,
        decided_at=utcnow()).on_conflict_do_nothing(
        index_elements=["kind", "proposal_id"]).returning(table.c.id)).scalar_one_or_none()
    if made is None:
        before = session.execute(select(PlanDecision.decision).where(
            PlanDecision.kind == kind, PlanDecision.proposal_id == proposal_id)).scalar_one()
        raise ProposalDecided(proposal=proposal_id, decision=before)
    return made


def _ids(ids) -> list[int]:
    out = []
    for i in ids or ():
        if isinstance(i, bool) or not isinstance(i, int) or not 1 <= i <= 2**31 - 1:
            raise errors.InvalidValue(field="id", value=str(i)[:20])
        if i not in out:
            out.append(i)
    if not out:
        raise errors.MissingValue(field="id")
    return out


@verb(NETWORK)
def decide_orders(session: Session, actor: User, *, order_ids, approve: bool) -> int:
    """Approve or cancel submitted orders, all or none, through `replenishment.approve` / `cancel` (audited
    there)."""
    ids = _ids(order_ids)
    for order_id in ids:
        if approve:
            replenishment.approve(session, actor, order_id=order_id)
        else:
            replenishment.cancel(session, actor, order_id=order_id)
    return len(ids)


@verb(NETWORK)
def decide_transfers(session: Session, actor: User, *, proposal_ids, approve: bool) -> int:
    """Approve (a transfer request from the proposal, shipped at once from the origin: the ledger's transfer
    out, the units in transit to the destination) or reject the plan's transfer proposals, all or none."""
    ids = _ids(proposal_ids)
    for proposal_id in ids:
        proposal = session.get(TransferProposal, proposal_id)
        if proposal is None:
            raise errors.NotFound(what="Transfer proposal", key=proposal_id)
        decision_id = _claim(session, actor, "transfer", proposal_id, "approved" if approve else "rejected")
        detail = {"from": proposal.from_location_id, "to": proposal.to_location_id,
                  "product": proposal.product_id, "quantity": proposal.quantity}
        if approve:
            origin = session.get(Location, proposal.from_location_id)
            product = session.get(Product, proposal.product_id)
            request = transfers.request_transfer(session, actor, store_id=proposal.to_location_id,
                                                 from_store_code=origin.code, sku=product.sku,
                                                 quantity=proposal.quantity, note=f"plan proposal {proposal_id}")
            serials = []
            if product.serialised:
                serials = list(session.execute(
                    select(SerialUnit.serial).where(SerialUnit.location_id == origin.id,
                                                    SerialUnit.product_id == product.id,
                                                    SerialUnit.state == SerialState.in_stock)
                    .order_by(SerialUnit.updated_at, SerialUnit.serial).limit(proposal.quantity)).scalars())
            transfers.ship_transfer(session, actor, store_id=origin.id, transfer_id=request.id, serials=serials)
            session.get(PlanDecision, decision_id).transfer_request_id = request.id
            detail["transfer_request"] = request.id
        audit.record(session, actor_id=actor.id, action=f"transfer_proposal.{'approved' if approve else 'rejected'}",
                     entity="transfer_proposal", entity_id=proposal_id, detail=detail)
    session.flush()
    return len(ids)


@verb(NETWORK)
def decide_purchases(session: Session, actor: User, *, proposal_ids, approve: bool) -> int:
    """Record the planners' approval or rejection of the plan's purchase proposals, all or none, audited.
    (The plan has already addressed each proposal to its brand as a purchase order line; see docs/dashboard.md.)"""
    ids = _ids(proposal_ids)
    for proposal_id in ids:
        proposal = session.get(PurchaseProposal, proposal_id)
        if proposal is None:
            raise errors.NotFound(what="Purchase proposal", key=proposal_id)
        _claim(session, actor, "purchase", proposal_id, "approved" if approve else "rejected")
        audit.record(session, actor_id=actor.id, action=f"purchase_proposal.{'approved' if approve else 'rejected'}",
                     entity="purchase_proposal", entity_id=proposal_id,
                     detail={"brand": proposal.brand_id, "product": proposal.product_id, "quantity": proposal.quantity})
    return len(ids)
