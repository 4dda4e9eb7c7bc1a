"""Ranges (issue 17): the weekly proposal, the planners' answers, and the decision in force for a cell.

- `propose` (a @job, `flask --app wsgi ranging propose`) reads the latest forecast run (each store x SKU's
  mean weekly demand), prices and costs in the store's currency, launch and end-of-life dates, the store's
  market, tier and size, the decisions in force, the display slots and brand display requirements (settings),
  calls `forecasting.ranging.decide` and writes one `StoreRange` proposal per changed cell, once per cell and
  week (a unique rule: a re-run writes nothing twice). Proposals of earlier weeks still open are superseded.
  A re-run in the same week after its inputs moved (a calibration, a new forecast run, new settings) revises
  the week's open proposals whose decision or reason changed and withdraws those no longer worth the change;
  answered ones stay as answered.
- `decide_proposals` (a @verb of the network) approves or rejects proposals, at most `MAX_BULK` a request. One
  answer per proposal: a conditional UPDATE (status still `proposed`) claims it, so two planners at once or a
  doubled click decide it once. An approval closes the decision in force before it (`valid_to`) and opens the
  new one from its week. Every answer is audited.
- `decision_in_force` / `decisions_in_force` / `approved_in_force`: what a cell is on a day. A cell without an
  approved decision is today's range: `stock` where the store carries the SKU (stock, a demo unit or goods
  on the way, or a forecast in the latest run), else `none`.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from forecasting import ranging as maths
from retail import errors
from retail.models import (
    Brand,
    ForecastRun,
    ForecastSeries,
    Location,
    LocationKind,
    LocationStatus,
    PolicyCalibration,
    Product,
    RangeSetting,
    StockBalance,
    StoreRange,
    User,
    utcnow,
)
from retail.services import audit, forecasts
from retail.services.verbs import NETWORK, job, query, verb

DECISIONS = maths.DECISIONS
REASONS = maths.REASONS
MAX_BULK = 500  # proposals decided in one request
MAX_CELLS = 10_000  # cells asked of decisions_in_force at once
PAGE = 500  # proposals on one page
BATCH = 5000  # rows per executemany call
HKD_PER_CNY = 1.08  # costs are kept in CNY; a Hong Kong store's cells are valued in HKD

# The settings a planner may change (RangeSetting rows override them key by key); documented in docs/ranging.md.
DEFAULTS: dict = {
    # Display slots (stocked or shown models) by store size class; a store without a class gets "default".
    "slots": {"S": 24, "M": 36, "L": 48, "default": 36},
    # Brand display requirements: a store of the tier displays at least `models` of the brand's models.
    "brand_minimum": [],  # e.g. [{"brand": "HUAWEI", "tier": 1, "models": 3}]
    # Share of customers who accept waiting for a model shown and not stocked: "market" or "market:tier".
    "conversion": {"CN": 0.6, "HK": 0.6},
    # The economics of forecasting.ranging.RangeSettings (holding_rate, display_cost_week, delivery_cost, ...).
    "economics": {},
    # Demo units at end of life: marked down by this share of the list price, proposed this many weeks before.
    "markdown": {"share": 0.3, "weeks": 4},
}


class RangeSettingInvalid(errors.DomainError):
    code = "range_setting_invalid"
    message = "The range setting {key} is not valid: {reason}."


@dataclass(frozen=True)
class Settings:
    values: dict

    def slots(self, size_class: str | None) -> int:
        table = self.values["slots"]
        return int(table.get(size_class or "default", table.get("default", 36)))

    def conversion(self) -> dict:
        out: dict = {}
        for key, value in self.values["conversion"].items():
            market, _colon, tier = str(key).partition(":")
            out[(market, int(tier)) if tier else market] = float(value)
        return out

    def maths(self) -> maths.RangeSettings:
        return maths.RangeSettings(conversion=self.conversion(), fx={"CNY": 1.0, "HKD": HKD_PER_CNY},
                                   **self.values["economics"])

    def brand_minimum(self) -> pd.DataFrame:
        rows = self.values["brand_minimum"]
        return pd.DataFrame(rows, columns=["brand", "tier", "models"]) if rows else pd.DataFrame(
            columns=["brand", "tier", "models"])


def _check(key: str, value) -> None:
    """Refuse a setting that the maths would refuse (or that is not one of DEFAULTS' keys)."""
    def bad(reason: str):
        raise RangeSettingInvalid(key=key, reason=reason)

    if key not in DEFAULTS:
        bad(f"known settings are {', '.join(DEFAULTS)}")
    if key == "slots":
        if not isinstance(value, dict) or not all(isinstance(v, int) and 0 <= v <= 1000 for v in value.values()):
            bad("slots per size class are whole numbers from 0 to 1000")
    elif key == "brand_minimum":
        if not isinstance(value, list) or len(value) > 500 or not all(
                isinstance(r, dict) and isinstance(r.get("models"), int) and 0 <= r["models"] <= 100 for r in value):
            bad("a list of {brand, tier, models} with models from 0 to 100")
    elif key == "conversion":
        if not isinstance(value, dict) or not all(isinstance(v, int | float) and 0 <= v <= 1 for v in value.values()):
            bad("conversion rates lie between 0 and 1")
    elif key == "markdown":
        if not isinstance(value, dict) or not 0 <= float(value.get("share", -1)) <= 1 or not isinstance(
                value.get("weeks"), int) or not 0 <= value["weeks"] <= 52:
            bad("share between 0 and 1 and weeks from 0 to 52")
    elif key == "economics":
        if not isinstance(value, dict):
            bad("a mapping of RangeSettings fields")
        try:
            maths.RangeSettings(**{k: v for k, v in value.items() if k not in ("conversion", "fx")})
        except (TypeError, ValueError) as exc:
            bad(str(exc)[:200])


@query
def settings(session: Session) -> Settings:
    """DEFAULTS with the planners' overrides (`RangeSetting`), key by key."""
    values = {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in DEFAULTS.items()}
    for row in session.execute(select(RangeSetting)).scalars():
        if row.key in values:
            values[row.key] = row.value.get("value") if isinstance(row.value, dict) and "value" in row.value \
                else row.value
    return Settings(values)


@verb(NETWORK)
def update_setting(session: Session, actor: User, *, key: str, value) -> Settings:
    """A planner changes one setting (validated, audited); the next proposal uses it."""
    _check(key, value)
    row = session.get(RangeSetting, key)
    before = row.value if row is not None else None
    if row is None:
        session.add(RangeSetting(key=key, value={"value": value}, updated_by=actor.id))
    else:
        row.value, row.updated_by, row.updated_at = {"value": value}, actor.id, utcnow()
    audit.record(session, actor_id=actor.id, action="range_setting.updated", entity="range_setting", entity_id=key,
                 detail={"before": before, "after": {"value": value}})
    session.flush()
    return settings(session)


@query
def latest_calibrations(session: Session, *, parameter: str) -> list[PolicyCalibration]:
    """The latest calibration of `parameter` for each scope and key (network; each tier; each brand): the
    replenishment plan reads hold_per_kcny, the range proposal serve_value (policy "ranging")."""
    rows = session.execute(select(PolicyCalibration).where(PolicyCalibration.parameter == parameter)
                           .order_by(PolicyCalibration.created_at.desc(), PolicyCalibration.id.desc())).scalars().all()
    seen, out = set(), []
    for row in rows:
        if (row.scope, row.scope_key) not in seen:
            seen.add((row.scope, row.scope_key))
            out.append(row)
    return out


def _serve_values(cells: pd.DataFrame, calibrations: list[PolicyCalibration]) -> np.ndarray:
    """serve_value of each cell: its brand's calibration, else its tier's, else the network's (NaN: none, the
    settings' value)."""
    value = np.full(len(cells), np.nan)
    for scope, column in (("network", None), ("tier", "tier"), ("brand", "brand")):
        table = {c.scope_key: c.value for c in calibrations if c.scope == scope}
        if not table:
            continue
        if column is None:
            value[:] = table[""] if "" in table else np.nan
        else:
            found = cells[column].astype(str).map(table).to_numpy(dtype=float)
            value = np.where(np.isnan(found), value, found)
    return value


# --- what a cell is on a day -------------------------------------------------------------------------------


def _in_force(day: date):
    return (StoreRange.status == "approved", StoreRange.valid_from <= day,
            or_(StoreRange.valid_to.is_(None), StoreRange.valid_to > day))


@query
def approved_in_force(session: Session, *, day: date, store_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """location_id, product_id, decision of every cell with an approved decision in force on `day` (only those:
    a cell not listed is today's range)."""
    q = select(StoreRange.location_id, StoreRange.product_id, StoreRange.decision, StoreRange.valid_from
               ).where(*_in_force(day))
    if store_ids is not None:
        q = q.where(StoreRange.location_id.in_(list(store_ids)))
    frame = pd.DataFrame(session.execute(q).all(), columns=["location_id", "product_id", "decision", "valid_from"])
    # Two approved rows cannot overlap (an approval closes the one before); the latest start wins regardless.
    frame = frame.sort_values("valid_from").drop_duplicates(["location_id", "product_id"], keep="last")
    return frame.drop(columns="valid_from").reset_index(drop=True)


def _carried(session: Session, cells: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """The cells the store carries today: stock, a demo unit or goods on the way, or a forecast in the latest run."""
    stores = sorted({s for s, _ in cells})
    out: set[tuple[int, int]] = set()
    b = StockBalance.__table__.c
    run = forecasts.latest_run(session)
    for lo in range(0, len(stores), 500):
        part = stores[lo:lo + 500]
        out.update((int(s), int(p)) for s, p in session.execute(
            select(b.location_id, b.product_id).where(b.location_id.in_(part),
                                                      (b.on_hand + b.in_transit + b.demo) > 0)).all())
        if run is not None:
            out.update((int(s), int(p)) for s, p in session.execute(
                select(ForecastSeries.location_id, ForecastSeries.product_id).where(
                    ForecastSeries.run_id == run.id, ForecastSeries.location_id.in_(part))).all())
    return out & set(cells)


@query
def decisions_in_force(session: Session, *, day: date, cells: Iterable[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The decision in force on `day` for each (store id, product id) asked (at most MAX_CELLS): the approved
    decision, else today's range (`stock` where carried, else `none`)."""
    wanted = list(dict.fromkeys((int(s), int(p)) for s, p in cells))
    if len(wanted) > MAX_CELLS:
        raise errors.TooMany(limit=MAX_CELLS, field="cells")
    if not wanted:
        return {}
    approved = approved_in_force(session, day=day, store_ids=sorted({s for s, _ in wanted}))
    found = {(int(r.location_id), int(r.product_id)): r.decision for r in approved.itertuples(index=False)}
    rest = [c for c in wanted if c not in found]
    carried = _carried(session, rest) if rest else set()
    return {c: found.get(c) or ("stock" if c in carried else "none") for c in wanted}


@query
def decision_in_force(session: Session, store_id: int, product_id: int, day: date) -> str:
    """`stock`, `show` or `none` for one store x SKU on `day` (see decisions_in_force)."""
    return decisions_in_force(session, day=day, cells=[(store_id, product_id)])[(store_id, product_id)]


# --- the weekly proposal -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    week: date
    forecast_run_id: int
    cells: int
    changed: int
    written: int  # new rows (0 on a re-run of the same week with the same inputs)
    superseded: int  # open proposals of earlier weeks
    revised: int = 0  # open proposals of this week whose decision or reason moved with the inputs (or proposed
    #                   again after a withdrawal this week)
    withdrawn: int = 0  # open proposals of this week no longer worth the change (status superseded)
    by_decision: dict = field(default_factory=dict)
    by_reason: dict = field(default_factory=dict)
    seconds: float = 0.0


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _cells(session: Session, run: ForecastRun, week: date, conf: Settings) -> tuple[pd.DataFrame, pd.Series]:
    """The cells frame forecasting.ranging.decide reads, and each store's display slots."""
    horizon = min(run.horizon, conf.maths().horizon_weeks)
    offset = max(0, (week - run.start_week).days // 7)
    series = session.execute(select(ForecastSeries.location_id, ForecastSeries.product_id, ForecastSeries.mean)
                             .where(ForecastSeries.run_id == run.id)).all()
    loc = np.fromiter((r[0] for r in series), dtype=np.int64, count=len(series))
    prod = np.fromiter((r[1] for r in series), dtype=np.int64, count=len(series))
    means = np.fromiter((float(np.mean(r[2][offset:offset + horizon] or r[2][-1:] or [0.0])) for r in series),
                        dtype=float, count=len(series))
    cells = pd.DataFrame({"location_id": loc, "product_id": prod, "weekly_mean": means})
    b = StockBalance.__table__.c
    held = pd.DataFrame(session.execute(select(b.location_id, b.product_id).where(
        (b.on_hand + b.in_transit + b.demo) > 0)).all(), columns=["location_id", "product_id"])
    approved = approved_in_force(session, day=week)
    extra = pd.concat([held, approved[["location_id", "product_id"]]]).drop_duplicates()
    cells = cells.merge(extra, on=["location_id", "product_id"], how="outer")
    cells["weekly_mean"] = cells["weekly_mean"].fillna(0.0)
    carried = set(zip(held["location_id"], held["product_id"], strict=True)) | set(zip(loc, prod, strict=True))
    cells = cells.merge(approved, on=["location_id", "product_id"], how="left")
    key = list(zip(cells["location_id"], cells["product_id"], strict=True))
    cells["current"] = np.where(cells["decision"].notna(), cells["decision"],
                                np.where([k in carried for k in key], "stock", "none"))
    cells = cells.drop(columns="decision")

    stores = pd.DataFrame(session.execute(select(
        Location.id, Location.code, Location.market, Location.city_tier, Location.currency, Location.size_class)
        .where(Location.kind == LocationKind.store, Location.status == LocationStatus.active)).all(),
        columns=["location_id", "store", "market", "tier", "currency", "size_class"])
    products = pd.DataFrame(session.execute(select(
        Product.id, Product.sku, Product.model, Brand.code, Product.list_price_cny, Product.list_price_hkd,
        Product.wholesale_cost, Product.launch_date, Product.eol_date).join(Brand, Brand.id == Product.brand_id)).all(),
        columns=["product_id", "sku", "model", "brand", "price_cny", "price_hkd", "cost_cny", "launch", "eol"])
    cells = cells.merge(stores, on="location_id", how="inner").merge(products, on="product_id", how="inner")
    hk = (cells["currency"] == "HKD").to_numpy()
    cells["price"] = np.where(hk, cells["price_hkd"].astype(float), cells["price_cny"].astype(float))
    cells["unit_cost"] = cells["cost_cny"].astype(float) * np.where(hk, HKD_PER_CNY, 1.0)
    monday = pd.Timestamp(week)
    cells["weeks_since_launch"] = (monday - pd.to_datetime(cells["launch"])).dt.days / 7.0
    to_eol = (pd.to_datetime(cells["eol"]) - monday).dt.days / 7.0
    cells["weeks_to_eol"] = to_eol.fillna(math.inf).to_numpy(dtype=float)
    cells["model"] = cells["brand"] + ":" + cells["model"].astype(str)
    phi = (run.dispersion or {}).get("store")
    cells["phi"] = float(phi) if isinstance(phi, int | float) else 0.0
    cells = cells.drop(columns=["price_cny", "price_hkd", "cost_cny", "launch", "eol"])
    capacity = stores.set_index("store")["size_class"].map(conf.slots).astype(float)
    return cells.reset_index(drop=True), capacity


@job
def propose(session: Session, *, week: date | None = None, actor_id: int | None = None, progress=None) -> Proposal:
    """The weekly range proposal from the latest forecast run (see the module docstring). Safe to re-run: a cell
    proposed for the week is not proposed again."""
    step = progress or (lambda label: None)
    began = time.perf_counter()
    run = forecasts.latest_run(session)
    if run is None:
        raise errors.NotFound(what="Forecast run", key="latest")
    week = monday_of(week or run.start_week)
    conf = settings(session)
    step("cells")
    cells, capacity = _cells(session, run, week, conf)
    serve = latest_calibrations(session, parameter="serve_value")
    if serve and len(cells):
        cells["serve_value"] = _serve_values(cells, serve)
    step("decide")
    decided = maths.decide(cells, conf.maths(), capacity=capacity, brand_minimum=conf.brand_minimum()) \
        if len(cells) else cells.assign(decision=[], reason=[], value_stock=[], value_show=[], changed=[])
    changed = decided[decided["changed"]]
    step("write")
    superseded = session.execute(update(StoreRange).where(StoreRange.status == "proposed", StoreRange.week < week)
                                 .values(status="superseded").execution_options(synchronize_session=False)).rowcount
    now = utcnow()
    taken = pd.DataFrame(session.execute(select(StoreRange.id, StoreRange.location_id, StoreRange.product_id,
                                                StoreRange.status, StoreRange.decision, StoreRange.reason).where(
        StoreRange.week == week)).all(), columns=["id", "location_id", "product_id", "status", "decision", "reason"])
    extra = [c for c in ("stock_units", "shelf_fill", "conversion") if c in changed.columns]

    def row_of(r) -> dict:
        return {"location_id": int(r["location_id"]), "product_id": int(r["product_id"]), "week": week,
                "decision": r["decision"], "previous": r["current"], "status": "proposed", "reason": r["reason"],
                "valid_from": week, "valid_to": None, "weekly_demand": round(float(r["weekly_mean"]), 4),
                "value_stock": round(float(r["value_stock"]), 2), "value_show": round(float(r["value_show"]), 2),
                "currency": r["currency"], "proposed_at": now,
                "detail": {k: round(float(r[k]), 4) for k in extra}}

    revised = withdrawn = 0
    if len(taken):  # a re-run: the cells proposed already are not sent again (the unique rule still holds) ...
        seen = pd.MultiIndex.from_frame(taken[["location_id", "product_id"]])
        changed_new = changed[~pd.MultiIndex.from_frame(changed[["location_id", "product_id"]]).isin(seen)]
        # ... but an open one is brought up to date when its inputs moved (a new calibration or forecast run):
        # a changed decision or reason revises it, a cell no longer worth changing withdraws it (superseded),
        # and one withdrawn this week that is worth changing again is proposed again. A proposal a planner
        # answered stays as answered; the status condition keeps a concurrent answer's (one claim).
        mine = taken[taken["status"].isin(["proposed", "superseded"])].rename(
            columns={"status": "status_was", "decision": "decision_was", "reason": "reason_was"})
        now_ = mine.merge(changed, on=["location_id", "product_id"], how="left")
        moved = now_[now_["decision"].notna() & ((now_["status_was"] == "superseded")
                                                 | (now_["decision"] != now_["decision_was"])
                                                 | (now_["reason"] != now_["reason_was"]))]
        gone = now_[now_["decision"].isna() & (now_["status_was"] == "proposed")]
        table = StoreRange.__table__
        if len(moved):
            fields = ("decision", "previous", "reason", "weekly_demand", "value_stock", "value_show", "detail",
                      "proposed_at")
            params = [{"row_id": int(r["id"]), "status_was": r["status_was"],
                       **{k: v for k, v in row_of(r).items() if k in fields}} for r in moved.to_dict("records")]
            revise = (update(table).where(table.c.id == bindparam("row_id"), table.c.status == bindparam("status_was"))
                      .values(status="proposed", **{k: bindparam(k) for k in fields}))
            for lo in range(0, len(params), BATCH):
                revised += session.execute(revise, params[lo:lo + BATCH]).rowcount
        if len(gone):
            ids = [int(i) for i in gone["id"]]
            for lo in range(0, len(ids), BATCH):
                withdrawn += session.execute(update(table).where(table.c.id.in_(ids[lo:lo + BATCH]),
                                                                 table.c.status == "proposed")
                                             .values(status="superseded")
                                             .execution_options(synchronize_session=False)).rowcount
    else:
        changed_new = changed
    rows = [row_of(r) for r in changed_new.to_dict("records")]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = StoreRange.__table__
    count = select(func.count()).select_from(table).where(table.c.week == week)
    before = session.execute(count).scalar_one()
    statement = insert(table).on_conflict_do_nothing(index_elements=["location_id", "product_id", "week"])
    for lo in range(0, len(rows), BATCH):
        session.execute(statement, rows[lo:lo + BATCH])  # executemany: one statement, batched by the driver
    written = session.execute(count).scalar_one() - before
    summary = Proposal(week=week, forecast_run_id=run.id, cells=len(decided), changed=len(changed), written=written,
                       superseded=superseded, revised=revised, withdrawn=withdrawn,
                       by_decision={k: int(v) for k, v in changed["decision"].value_counts().items()},
                       by_reason={k: int(v) for k, v in changed["reason"].value_counts().items()},
                       seconds=round(time.perf_counter() - began, 2))
    audit.record(session, actor_id=actor_id, action="ranging.propose", entity="store_range", entity_id=str(week),
                 detail={"forecast_run": run.id, "cells": summary.cells, "changed": summary.changed,
                         "written": written, "superseded": superseded, "revised": revised, "withdrawn": withdrawn})
    session.commit()
    return summary


# --- the planners' answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    decided: int  # answered by this request
    already: int  # answered before (by someone else, or a doubled click)
    revised: int = 0  # revised by a re-run after the planner's page was shown: left for them to look again


def _ids(ids) -> list[int]:
    out: list[int] = []
    for i in ids or ():
        if isinstance(i, bool) or not isinstance(i, int) or not 1 <= i <= 2**31 - 1:
            raise errors.InvalidValue(field="id", value=str(i)[:20])
        if i not in out:
            out.append(i)
    if not out:
        raise errors.MissingValue(field="id")
    if len(out) > MAX_BULK:
        raise errors.TooMany(limit=MAX_BULK, field="proposals")
    return out


def _approve_cell(session: Session, row: StoreRange) -> None:
    """Close the decision in force before this one (valid_to = its start) and end this one where a later
    approved decision of the cell starts, if any."""
    cell = (StoreRange.location_id == row.location_id, StoreRange.product_id == row.product_id,
            StoreRange.status == "approved", StoreRange.id != row.id)
    session.execute(update(StoreRange).where(*cell, StoreRange.valid_from < row.valid_from,
                                             or_(StoreRange.valid_to.is_(None), StoreRange.valid_to > row.valid_from))
                    .values(valid_to=row.valid_from).execution_options(synchronize_session=False))
    later = session.execute(select(func.min(StoreRange.valid_from)).where(
        *cell, StoreRange.valid_from > row.valid_from)).scalar_one_or_none()
    session.execute(update(StoreRange).where(StoreRange.id == row.id).values(valid_to=later)
                    .execution_options(synchronize_session=False))


@verb(NETWORK)
def decide_proposals(session: Session, actor: User, *, proposal_ids, approve: bool,
                     shown_at: datetime | None = None) -> Decided:
    """Approve or reject range proposals (at most MAX_BULK). Each is claimed by a conditional UPDATE: one
    answered before (another planner, a doubled click) is counted in `already` and left as it is. With
    `shown_at` (when the planner's page was read), a proposal a re-run of `propose` revised after it is not
    answered either (counted in `revised`): the planner answers what they saw, never a decision they did not."""
    ids = _ids(proposal_ids)
    target = "approved" if approve else "rejected"
    now, done, already, revised = utcnow(), 0, 0, 0
    for proposal_id in ids:
        claim = update(StoreRange).where(StoreRange.id == proposal_id, StoreRange.status == "proposed")
        if shown_at is not None:
            claim = claim.where(StoreRange.proposed_at <= shown_at)
        claimed = session.execute(claim.values(status=target, decided_by=actor.id, decided_at=now)
                                  .execution_options(synchronize_session=False)).rowcount
        row = session.execute(select(StoreRange).where(StoreRange.id == proposal_id)
                              .execution_options(populate_existing=True)).scalars().first()
        if row is None:
            raise errors.NotFound(what="Range proposal", key=proposal_id)
        if claimed != 1:
            if row.status == "proposed":  # still open: only the time condition refused it
                revised += 1
            else:
                already += 1
            continue
        if approve:
            _approve_cell(session, row)
        audit.record(session, actor_id=actor.id, action=f"range.{target}", entity="store_range",
                     entity_id=proposal_id, detail={"store": row.location_id, "product": row.product_id,
                                                    "decision": row.decision, "previous": row.previous,
                                                    "week": str(row.week), "reason": row.reason})
        done += 1
    session.flush()
    return Decided(done, already, revised)


# --- the page's read ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalPage:
    week: date | None
    weeks: list[date]
    rows: list[dict]
    total: int
    counts: dict  # status -> proposals of the week
    brands: list[tuple[int, str]]
    provinces: list[str]
    tiers: list[int]


FILTERS = ("brand_id", "province", "tier", "store", "decision", "reason", "status")
STATUSES = ("proposed", "approved", "rejected", "superseded")


@query
def proposals(session: Session, *, week: date | None = None, brand_id: int | None = None, province: str | None = None,
              tier: int | None = None, store: str | None = None, decision: str | None = None,
              reason: str | None = None, status: str = "proposed", offset: int = 0) -> ProposalPage:
    """A week's proposals (default: the latest week proposed) with their store, SKU and figures, filtered, at most
    PAGE rows from `offset`."""
    weeks = list(session.execute(select(StoreRange.week).group_by(StoreRange.week)
                                 .order_by(StoreRange.week.desc()).limit(26)).scalars())
    if week is None:
        week = weeks[0] if weeks else None
    brands = [(int(i), n) for i, n in session.execute(select(Brand.id, Brand.name).order_by(Brand.name)).all()]
    stores_q = select(Location.province, Location.city_tier).where(Location.kind == LocationKind.store).distinct()
    places = session.execute(stores_q).all()
    provinces = sorted({p for p, _ in places if p})
    tiers = sorted({int(t) for _, t in places if t is not None})
    if week is None:
        return ProposalPage(None, weeks, [], 0, {}, brands, provinces, tiers)
    where = [StoreRange.week == week]
    if status in STATUSES:
        where.append(StoreRange.status == status)
    if decision in DECISIONS:
        where.append(StoreRange.decision == decision)
    if reason in REASONS:
        where.append(StoreRange.reason == reason)
    joined = [cond for cond, given in ((Product.brand_id == brand_id, brand_id is not None),
                                       (Location.province == province, bool(province)),
                                       (Location.city_tier == tier, tier is not None),
                                       (Location.code == store, bool(store))) if given]
    base = (select(StoreRange, Location.code, Location.name, Location.city, Location.city_zh, Location.province,
                   Location.city_tier,
                   Product.sku, Product.model, Brand.name)
            .join(Location, Location.id == StoreRange.location_id).join(Product, Product.id == StoreRange.product_id)
            .join(Brand, Brand.id == Product.brand_id).where(*where, *joined))
    counts = dict(session.execute(select(StoreRange.status, func.count()).where(StoreRange.week == week)
                                  .group_by(StoreRange.status)).all())
    if joined:
        total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    elif decision in DECISIONS or reason in REASONS or status not in STATUSES:  # the week's rows alone, no join
        total = session.execute(select(func.count()).select_from(StoreRange).where(*where)).scalar_one()
    else:
        total = counts.get(status, 0)
    # By store, then SKU (ids: the order of the (week, status, store, product) index, so a page is read, not sorted).
    found = session.execute(base.order_by(StoreRange.location_id, StoreRange.product_id)
                            .offset(max(0, int(offset))).limit(PAGE)).all()
    rows = [{"id": r.id, "store_id": r.location_id, "store": code, "store_name": name, "city": city, "city_zh": city_zh,
             "province": prov, "tier": t, "sku": sku, "model": model, "brand": brand, "previous": r.previous,
             "decision": r.decision, "reason": r.reason, "status": r.status, "weekly_demand": r.weekly_demand,
             "value_stock": r.value_stock, "value_show": r.value_show, "currency": r.currency,
             "valid_from": r.valid_from, "valid_to": r.valid_to, "detail": r.detail or {}}
            for r, code, name, city, city_zh, prov, t, sku, model, brand in found]
    return ProposalPage(week, weeks, rows, int(total), counts, brands, provinces, tiers)


@query
def range_counts(session: Session, *, day: date) -> Mapping[str, int]:
    """Approved cells in force on `day` by decision (the page's summary)."""
    frame = approved_in_force(session, day=day)
    return {k: int(v) for k, v in frame["decision"].value_counts().items()} if len(frame) else {}
