"""What the weekly emails say: the numbers of a store's, a brand's and the network's week, read in bulk.

`load` reads everything one batch needs in a handful of queries (the week's forecast run and plan, the
last 13 weeks of sales, balances, last sales, suggestions, transfers, purchases), so that 3,000 store
emails cost one load and 3,000 cheap slices; `store_digest`, `brand_digest` and `planner_digest` cut one
recipient's figures out of it as plain values (no Flask: the email adapter, `retail/emails`, renders them
in the reader's language and currency).

The week is an ISO week named by its Monday (`parse_week("2026-W48")`). Its email reads:
- the forecast run starting that Monday (`forecasts.run_forecast`'s start week) and the replenishment run
  planned from it for that Monday;
- sales by the week rule (`weekly_sales.week_start`: the store's local Monday), the 13 weeks before;
- stock as it is now (balances are the ledger's current state, not a history);
- at risk and aged as `services/stock.py` defines them (cover shorter than the brand's lead time plus two
  weeks; units on hand and no sale for `kpis.AGED_DAYS` days), as of the week's Monday, midnight local time.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Text, cast, func, select
from sqlmodel import Session

from forecasting import kpis
from retail import errors
from retail.models import (
    Brand,
    EmailKind,
    EmailOptOut,
    ForecastRun,
    ForecastSeries,
    Location,
    LocationKind,
    LocationStatus,
    MissedSale,
    Movement,
    MovementKind,
    Product,
    PurchaseProposal,
    ReplenishmentRun,
    Role,
    StockBalance,
    SuggestedLine,
    TransferProposal,
    User,
)
from retail.services.stock import RATE_WEEKS, REVIEW_AND_SAFETY_WEEKS
from retail.services.verbs import query
from retail.services.weekly_sales import DEFAULT_TIMEZONE, local_midnight

HISTORY_WEEKS = 13  # weeks of sales read back (the chart's bars, rates of sale)
STORE_WEEKS = 4  # weeks of forecast in a store's email
TOP_SKUS = 12  # rows of a store's forecast table; the rest are counted
TOP_RISKS = 10
ACCURACY_RUNS = 8  # forecast runs in the planner's accuracy trend
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class InvalidWeek(errors.DomainError):
    code = "invalid_week"
    message = "{value} is not an ISO week such as 2026-W48."


def parse_week(text: str) -> date:
    """The Monday of an ISO week written YYYY-Www."""
    match = _WEEK.match((text or "").strip())
    if not match:
        raise InvalidWeek(value=text)
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise InvalidWeek(value=text) from exc


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def current_week(now: datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The Monday of the ISO week holding `now` in the network's time zone (cron runs on Shanghai time)."""
    day = now.astimezone(ZoneInfo(timezone)).date()
    return day - timedelta(days=day.weekday())


# ---------------------------------------------------------------------------------------------- recipients
@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str
    name: str
    language: str
    kind: str
    scope_id: int | None  # the store or the brand


@query
def recipients(session: Session, *, kinds=tuple(EmailKind), user_ids=None) -> list[Recipient]:
    """Who gets which email: each active store manager of an active store (store), each active brand
    partner of an active brand (brand), each active planner (planner); never a person who opted out."""
    opted_out = set(session.execute(select(EmailOptOut.user_id)).scalars())
    q = (select(User, Location.status, Brand.active).outerjoin(Location, Location.id == User.store_id)
         .outerjoin(Brand, Brand.id == User.brand_id).where(User.active.is_(True)).order_by(User.id))
    if user_ids is not None:
        q = q.where(User.id.in_(list(user_ids)))
    out = []
    for user, store_status, brand_active in session.execute(q).all():
        if user.id in opted_out:
            continue
        if (EmailKind.store in kinds and user.role == Role.store_manager and user.store_id is not None
                and store_status == LocationStatus.active):
            out.append(Recipient(user.id, user.email, user.name, user.language, EmailKind.store, user.store_id))
        elif (EmailKind.brand in kinds and user.role == Role.brand_partner and user.brand_id is not None
              and brand_active):
            out.append(Recipient(user.id, user.email, user.name, user.language, EmailKind.brand, user.brand_id))
        elif EmailKind.planner in kinds and user.role == Role.planner:
            out.append(Recipient(user.id, user.email, user.name, user.language, EmailKind.planner, None))
    return out


@query
def recipient_for(session: Session, *, user_id: int) -> Recipient:
    """The one email a person gets (the admin preview); NotFound for anyone who gets none."""
    found = recipients(session, user_ids=[user_id])
    if not found:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise errors.NotFound(what="User", key=user_id)
        # Opted out, or in no role with an email: preview what they would get by their role.
        role_kind = {Role.store_manager: EmailKind.store, Role.brand_partner: EmailKind.brand,
                     Role.planner: EmailKind.planner}.get(user.role)
        if role_kind is None:
            raise errors.NotFound(what="Weekly email of", key=user.email)
        scope = user.store_id if role_kind == EmailKind.store else user.brand_id
        return Recipient(user.id, user.email, user.name, user.language, role_kind, scope)
    return found[0]


# ----------------------------------------------------------------------------------------------- freshness
@query
def stale_reason(session: Session, *, step: str, week: date) -> str | None:
    """Why `step` (forecast | plan | emails) must not run for the week starting `week`, or None.

    forecast: the ledger has nothing from the week before (the stores' sales have not arrived);
    plan: no forecast run starts on that Monday; emails: no replenishment run was planned for that
    Monday from that forecast run."""
    label = week_label(week)
    if step == "forecast":
        last = session.execute(select(func.max(Movement.ts)).where(Movement.kind == MovementKind.sale)).scalar()
        since = local_midnight(week - timedelta(weeks=1), DEFAULT_TIMEZONE)
        if last is None:
            return f"the ledger has no sales at all: nothing to forecast week {label} from"
        last = last.replace(tzinfo=UTC) if last.tzinfo is None else last
        if last < since:
            return (f"the ledger's latest sale is at {last:%Y-%m-%d %H:%M} UTC, before the week ahead of {label} "
                    f"began ({week - timedelta(weeks=1)}): the stores' sales of last week have not arrived")
        return None
    run = _forecast_run(session, week)
    if run is None:
        latest = session.execute(select(func.max(ForecastRun.start_week))).scalar()
        return (f"no forecast run starts on {week} (week {label}); the latest starts on {latest or 'none'}: "
                f"run `flask --app wsgi forecast run --week {label}` first")
    if step == "plan":
        return None
    if step != "emails":
        raise ValueError(f"unknown step {step!r}")
    if _plan(session, run, week) is None:
        return (f"no replenishment run was planned for {week} from forecast run {run.id}: "
                f"run `flask --app wsgi replenish plan --week {label}` first")
    return None


@query
def forecast_run_for(session: Session, *, week: date) -> ForecastRun | None:
    """The forecast run that starts on the week's Monday (the latest such), or None."""
    return _forecast_run(session, week)


def _forecast_run(session: Session, week: date) -> ForecastRun | None:
    return session.execute(select(ForecastRun).where(ForecastRun.start_week == week)
                           .order_by(ForecastRun.id.desc()).limit(1)).scalars().first()


def _plan(session: Session, run: ForecastRun | None, week: date) -> ReplenishmentRun | None:
    if run is None:
        return None
    return session.execute(select(ReplenishmentRun).where(ReplenishmentRun.forecast_run_id == run.id,
                                                          ReplenishmentRun.as_of == week)
                           .order_by(ReplenishmentRun.id.desc()).limit(1)).scalars().first()


# ------------------------------------------------------------------------------------------------ the load
@dataclass
class Series:
    """Forecast series of one run as arrays: row i is (location_ids[i], product_ids[i])."""
    start: date | None
    location_ids: np.ndarray
    product_ids: np.ndarray
    mean: np.ndarray  # (n, horizon)
    low: np.ndarray
    high: np.ndarray
    low_q: int = 50
    high_q: int = 95

    @classmethod
    def empty(cls, start=None) -> Series:
        z = np.zeros((0, 1))
        return cls(start, np.zeros(0, np.int64), np.zeros(0, np.int64), z, z, z)


@dataclass
class WeekData:
    week: date
    label: str
    as_of: datetime  # the week's Monday, midnight in the network's time zone, as UTC
    forecast_run: ForecastRun | None
    plan: ReplenishmentRun | None
    stores: pd.DataFrame  # indexed by location id: code, name, city, province, currency, timezone, dc_id
    products: pd.DataFrame  # indexed by product id: sku, model, variant, brand_id, prices, lead_time_days
    brands: pd.DataFrame  # indexed by brand id: code, name, name_zh
    forecast: Series
    last_week: Series  # the run that started a week earlier (its first week is last week)
    sales: pd.DataFrame  # location_id, product_id, week (date), units: the HISTORY_WEEKS weeks before
    balances: pd.DataFrame  # location_id, product_id, on_hand, in_transit (stores and DCs)
    last_sale: pd.DataFrame  # location_id, product_id, last_sale (UTC)
    suggested: pd.DataFrame  # location_id, product_id, quantity
    transfers: pd.DataFrame  # from_location_id, to_location_id, product_id, quantity, aged
    purchases: pd.DataFrame  # brand_id, dc_id, product_id, quantity, arrival_week
    missed: pd.DataFrame  # location_id, product_id, quantity (last 4 weeks)
    accuracy: list = field(default_factory=list)  # [(week, wape, bias)] of past runs (planner)
    _by_store: dict = field(default_factory=dict, repr=False)


def _frame(rows, columns) -> pd.DataFrame:
    # Plain tuples: pandas inspects SQLAlchemy rows attribute by attribute (3 s for the network's balances).
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def _series(session: Session, run: ForecastRun | None, store_ids, product_ids, first_week_only=False) -> Series:
    if run is None:
        return Series.empty()
    s = ForecastSeries.__table__.c
    # The JSON as text, parsed in one json.loads call for all rows (per-row decoding was half the load).
    q = select(s.location_id, s.product_id, cast(s.mean, Text), cast(s.quantiles, Text)).where(s.run_id == run.id)
    if store_ids is not None:
        q = q.where(s.location_id.in_(list(store_ids)))
    if product_ids is not None:
        q = q.where(s.product_id.in_(list(product_ids)))
    raw = session.execute(q).all()
    if not raw:
        return Series.empty(run.start_week)
    means = json.loads("[" + ",".join(r[2] for r in raw) + "]")
    quantiles = json.loads("[" + ",".join(r[3] for r in raw) + "]")
    rows = [(r[0], r[1], m, q) for r, m, q in zip(raw, means, quantiles, strict=True)]
    keys = sorted(rows[0][3], key=lambda k: int(k[1:]))
    lo_key, hi_key = keys[0], keys[-1]
    width = 1 if first_week_only else run.horizon
    loc = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    prod = np.fromiter((r[1] for r in rows), np.int64, len(rows))
    mean = np.array([r[2][:width] for r in rows], dtype=float)
    low = np.array([r[3][lo_key][:width] for r in rows], dtype=float)
    high = np.array([r[3][hi_key][:width] for r in rows], dtype=float)
    return Series(run.start_week, loc, prod, mean, low, high, int(lo_key[1:]), int(hi_key[1:]))


def _local_weeks(ts: pd.Series, zones: pd.Series) -> pd.Series:
    """The week rule (`weekly_sales.week_start`) for a column of UTC times and the stores' zones."""
    out = pd.Series(pd.NaT, index=ts.index, dtype="datetime64[ns]")
    for zone, idx in zones.groupby(zones).groups.items():
        local = ts.loc[idx].dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
        out.loc[idx] = (local - pd.to_timedelta(local.dt.day_of_week, unit="D")).to_numpy()
    return out.dt.date


@query
def load(session: Session, *, week: date, store_ids=None, brand_id: int | None = None,
         accuracy: bool = False) -> WeekData:
    """Everything the week's emails need, for the stores given (None: all) or for one brand's SKUs."""
    run = _forecast_run(session, week)
    plan = _plan(session, run, week)
    previous = _forecast_run(session, week - timedelta(weeks=1))
    as_of = local_midnight(week, DEFAULT_TIMEZONE)
    since = as_of - timedelta(weeks=HISTORY_WEEKS, days=1)

    locations = session.execute(select(Location)).scalars().all()
    stores = pd.DataFrame([{"location_id": loc.id, "code": loc.code, "name": loc.name, "city": loc.city,
                            "city_zh": loc.city_zh, "province": loc.province or loc.city, "currency": loc.currency,
                            "timezone": loc.timezone or DEFAULT_TIMEZONE, "dc_id": loc.dc_id, "kind": loc.kind,
                            "status": loc.status} for loc in locations],
                          columns=["location_id", "code", "name", "city", "city_zh", "province", "currency",
                                   "timezone", "dc_id", "kind", "status"]).set_index("location_id")
    prod_rows = session.execute(select(Product, Brand.lead_time_days).join(Brand, Brand.id == Product.brand_id)).all()
    products = pd.DataFrame([{"product_id": p.id, "sku": p.sku, "model": p.model, "variant": p.variant,
                              "brand_id": p.brand_id, "price_CNY": float(p.list_price_cny),
                              "price_HKD": float(p.list_price_hkd), "cost": float(p.wholesale_cost),
                              "cost_currency": p.cost_currency, "lead_time_days": lead}
                             for p, lead in prod_rows],
                            columns=["product_id", "sku", "model", "variant", "brand_id", "price_CNY", "price_HKD",
                                     "cost", "cost_currency", "lead_time_days"]).set_index("product_id")
    brands = pd.DataFrame([{"brand_id": b.id, "code": b.code, "name": b.name, "name_zh": b.name_zh}
                           for b in session.execute(select(Brand)).scalars()],
                          columns=["brand_id", "code", "name", "name_zh"]).set_index("brand_id")
    product_ids = None if brand_id is None else list(products.index[products["brand_id"] == brand_id])

    def scoped(q, location_col, product_col):
        if store_ids is not None:
            q = q.where(location_col.in_(list(store_ids)))
        if product_ids is not None:
            q = q.where(product_col.in_(product_ids))
        return q

    m = Movement.__table__.c
    sold = _frame(session.execute(scoped(
        select(m.location_id, m.product_id, m.ts, m.quantity)
        .where(m.kind == MovementKind.sale, m.ts >= since, m.ts < as_of), m.location_id, m.product_id)).all(),
        ["location_id", "product_id", "ts", "quantity"])
    if len(sold):
        ts = pd.to_datetime(sold["ts"], utc=True)
        sold["week"] = _local_weeks(ts, sold["location_id"].map(stores["timezone"]).fillna(DEFAULT_TIMEZONE))
        sold["units"] = -sold["quantity"]
        sales = sold[sold["week"] < week].groupby(["location_id", "product_id", "week"], as_index=False)["units"].sum()
    else:
        sales = pd.DataFrame(columns=["location_id", "product_id", "week", "units"])
    b = StockBalance.__table__.c
    balances = _frame(session.execute(scoped(select(b.location_id, b.product_id, b.on_hand, b.in_transit),
                                             b.location_id, b.product_id)).all(),
                      ["location_id", "product_id", "on_hand", "in_transit"])
    last_sale = _frame(session.execute(scoped(
        select(m.location_id, m.product_id, func.max(m.ts)).where(m.kind == MovementKind.sale, m.ts < as_of)
        .group_by(m.location_id, m.product_id), m.location_id, m.product_id)).all(),
        ["location_id", "product_id", "last_sale"])
    last_sale["last_sale"] = pd.to_datetime(last_sale["last_sale"], utc=True)
    plan_id = plan.id if plan is not None else -1
    sl, tp, pp = SuggestedLine.__table__.c, TransferProposal.__table__.c, PurchaseProposal.__table__.c
    suggested = _frame(session.execute(scoped(select(sl.location_id, sl.product_id, sl.quantity)
                                              .where(sl.run_id == plan_id), sl.location_id, sl.product_id)).all(),
                       ["location_id", "product_id", "quantity"])
    tq = select(tp.from_location_id, tp.to_location_id, tp.product_id, tp.quantity, tp.explanation).where(
        tp.run_id == plan_id)
    if store_ids is not None:
        tq = tq.where(tp.from_location_id.in_(list(store_ids)))
    transfers = _frame(((f, t, p, q, bool((e or {}).get("aged"))) for f, t, p, q, e in session.execute(tq).all()),
                       ["from_location_id", "to_location_id", "product_id", "quantity", "aged"])
    pq = select(pp.brand_id, pp.dc_id, pp.product_id, pp.quantity, pp.arrival_week).where(pp.run_id == plan_id)
    if brand_id is not None:
        pq = pq.where(pp.brand_id == brand_id)
    purchases = _frame(session.execute(pq).all(), ["brand_id", "dc_id", "product_id", "quantity", "arrival_week"])
    ms = MissedSale.__table__.c
    missed = _frame(session.execute(scoped(
        select(ms.store_id, ms.product_id, func.sum(ms.quantity))
        .where(ms.ts >= as_of - timedelta(weeks=4), ms.ts < as_of).group_by(ms.store_id, ms.product_id),
        ms.store_id, ms.product_id)).all(), ["location_id", "product_id", "quantity"])
    data = WeekData(
        week=week, label=week_label(week), as_of=as_of, forecast_run=run, plan=plan, stores=stores,
        products=products, brands=brands, forecast=_series(session, run, store_ids, product_ids),
        last_week=_series(session, previous, store_ids, product_ids, first_week_only=True),
        sales=sales, balances=balances, last_sale=last_sale, suggested=suggested, transfers=transfers,
        purchases=purchases, missed=missed)
    if accuracy:
        data.accuracy = _accuracy_trend(session, week, stores)
    return data


def _accuracy_trend(session: Session, week: date, stores: pd.DataFrame) -> list[tuple[date, float, float]]:
    """For the latest runs whose first week is over: WAPE (sum |forecast - sold| / sum sold, store x SKU)
    and bias (sum forecast / sum sold) of that first week."""
    runs = session.execute(select(ForecastRun).where(ForecastRun.start_week < week)
                           .order_by(ForecastRun.start_week.desc()).limit(ACCURACY_RUNS)).scalars().all()
    out = []
    m = Movement.__table__.c
    for run in sorted({r.start_week: r for r in runs}.values(), key=lambda r: r.start_week):
        series = _series(session, run, None, None, first_week_only=True)
        start = local_midnight(run.start_week, DEFAULT_TIMEZONE) - timedelta(days=1)
        rows = _frame(session.execute(select(m.location_id, m.product_id, m.ts, m.quantity).where(
            m.kind == MovementKind.sale, m.ts >= start, m.ts < start + timedelta(days=9))).all(),
            ["location_id", "product_id", "ts", "quantity"])
        actual = {}
        if len(rows):
            rows["week"] = _local_weeks(pd.to_datetime(rows["ts"], utc=True),
                                        rows["location_id"].map(stores["timezone"]).fillna(DEFAULT_TIMEZONE))
            rows = rows[rows["week"] == run.start_week]
            actual = (-rows.groupby(["location_id", "product_id"])["quantity"].sum()).to_dict()
        forecast = {(int(loc), int(p)): float(v) for loc, p, v in
                    zip(series.location_ids, series.product_ids, series.mean[:, 0] if len(series.mean) else [],
                        strict=False)}
        keys = set(forecast) | set(actual)
        total = sum(actual.values())
        if total <= 0:
            continue
        error = sum(abs(forecast.get(k, 0.0) - actual.get(k, 0)) for k in keys)
        out.append((run.start_week, error / total, sum(forecast.values()) / total))
    return out


# ------------------------------------------------------------------------------------------------ digests
@dataclass(frozen=True)
class ForecastLine:
    sku: str
    model: str
    mean: list[float]  # weekly
    low: list[float]
    high: list[float]
    total: float


@dataclass(frozen=True)
class OrderLine:
    sku: str
    model: str
    quantity: int
    value: float  # at list price, in the store's currency


@dataclass(frozen=True)
class RiskLine:
    sku: str
    model: str
    on_hand: int
    in_transit: int
    weekly_rate: float
    weeks_of_cover: float
    lead_weeks: float


@dataclass(frozen=True)
class AgingLine:
    sku: str
    model: str
    on_hand: int
    last_sale: datetime | None
    value: float
    transfer_to: str | None  # a store code when the plan proposes a transfer
    transfer_units: int


@dataclass(frozen=True)
class AccuracyLine:
    sku: str
    model: str
    forecast: float
    sold: int


@dataclass
class StoreDigest:
    week: date
    label: str
    store_id: int
    code: str
    name: str
    currency: str
    timezone: str
    weeks: list[date]
    forecast: list[ForecastLine]
    more_skus: int
    low_q: int
    high_q: int
    order: list[OrderLine]
    order_units: int
    order_value: float
    at_risk: list[RiskLine]
    aging: list[AgingLine]
    last_week: list[AccuracyLine]
    last_week_forecast: float | None
    last_week_sold: int
    history: list[tuple[date, int]]  # units per week, the HISTORY_WEEKS before
    band: list[tuple[date, float, float, float]]  # store total: week, low, mean, high
    has_forecast: bool


def _index_by(values: np.ndarray) -> dict[int, np.ndarray]:
    if len(values) == 0:
        return {}
    order = np.argsort(values, kind="stable")
    keys, starts = np.unique(values[order], return_index=True)
    bounds = np.append(starts, len(order))
    return {int(k): order[bounds[i]:bounds[i + 1]] for i, k in enumerate(keys)}


def _lists(frame: pd.DataFrame, key: str, columns: list[str]) -> dict[int, list[tuple]]:
    """{key value: [row tuples of `columns`]}: one pass over the frame, then dictionary lookups per store."""
    out: dict[int, list[tuple]] = {}
    if len(frame):
        for row in zip(frame[key].to_numpy().tolist(), *(frame[c].to_numpy().tolist() for c in columns),
                       strict=True):
            out.setdefault(row[0], []).append(row[1:])
    return out


def _store_index(data: WeekData) -> dict:
    """The whole network's store figures computed once, vectorised, then split by store (what makes a
    3,000-store batch one load plus 3,000 lookups)."""
    if data._by_store:
        return data._by_store
    products, stores = data.products, data.stores
    sales = data.sales
    weekly = sales.groupby(["location_id", "week"], as_index=False)["units"].sum() if len(sales) else sales
    recent = (sales.groupby(["location_id", "product_id"])["units"].sum() if len(sales)
              else pd.Series(dtype=float, index=pd.MultiIndex.from_arrays([[], []])))
    last_week = sales[sales["week"] == data.week - timedelta(weeks=1)] if len(sales) else sales
    bal = data.balances[data.balances["location_id"].isin(stores.index[stores["kind"] == LocationKind.store])]
    keys = pd.MultiIndex.from_arrays([bal["location_id"], bal["product_id"]])
    rate = recent.reindex(keys).fillna(0).to_numpy(dtype=float) / RATE_WEEKS
    cover = kpis.weeks_of_cover(bal["on_hand"].to_numpy(), rate)
    lead = products["lead_time_days"].reindex(bal["product_id"]).fillna(0).to_numpy(dtype=float) / 7 \
        + REVIEW_AND_SAFETY_WEEKS
    risk = bal.assign(rate=rate, cover=cover, lead=lead)[(rate > 0) & (cover < lead)]
    aged = kpis.aged_stock(
        pd.DataFrame({"store": bal["location_id"].to_numpy(), "sku": bal["product_id"].to_numpy(),
                      "on_hand": bal["on_hand"].to_numpy()}),
        pd.DataFrame({"store": data.last_sale["location_id"].to_numpy(), "sku": data.last_sale["product_id"].to_numpy(),
                      "date": data.last_sale["last_sale"].to_numpy(), "units": 1}),
        as_of=pd.Timestamp(data.as_of))
    aged["last_sale"] = aged["last_sale"].astype(object).where(aged["last_sale"].notna(), None)
    data._by_store = {
        "forecast": _index_by(data.forecast.location_ids), "last": _index_by(data.last_week.location_ids),
        "weekly": {k: dict(v) for k, v in _lists(weekly, "location_id", ["week", "units"]).items()},
        "last_sold": {k: dict(v) for k, v in _lists(last_week, "location_id", ["product_id", "units"]).items()},
        "risk": _lists(risk, "location_id", ["product_id", "on_hand", "in_transit", "rate", "cover", "lead"]),
        "aged": _lists(aged, "store", ["sku", "on_hand", "last_sale"]),  # sku column holds the product id
        "suggested": _lists(data.suggested, "location_id", ["product_id", "quantity"]),
        "transfers": _lists(data.transfers, "from_location_id", ["product_id", "to_location_id", "quantity"]),
        "sku": products["sku"].to_dict(), "model": products["model"].to_dict(),
        "price": {c: products[f"price_{c}"].to_dict() for c in ("CNY", "HKD")},
        "code": stores["code"].to_dict(),
    }
    return data._by_store


def _history(data: WeekData, by_week: dict) -> list[tuple[date, int]]:
    weeks = [data.week - timedelta(weeks=HISTORY_WEEKS - i) for i in range(HISTORY_WEEKS)]
    return [(w, int(by_week.get(w, 0))) for w in weeks]


def store_digest(data: WeekData, store_id: int) -> StoreDigest:
    """One store's week (pure: slices of `load`'s data)."""
    idx = _store_index(data)
    sku, model = idx["sku"], idx["model"]
    store = data.stores.loc[store_id]
    currency = store["currency"] if store["currency"] in ("CNY", "HKD") else "CNY"
    price = idx["price"][currency]
    weeks = [data.week + timedelta(weeks=i) for i in range(STORE_WEEKS)]
    fc = data.forecast
    rows = idx["forecast"].get(store_id, np.zeros(0, np.int64))
    lines, band, more = [], [], 0
    if len(rows):
        width = min(STORE_WEEKS, fc.mean.shape[1])
        mean, low, high = fc.mean[rows, :width], fc.low[rows, :width], fc.high[rows, :width]
        totals = mean.sum(axis=1)
        selling = totals >= 0.005
        order = np.argsort(-totals, kind="stable")
        for i in order[:TOP_SKUS]:
            if not selling[i]:
                break
            pid = int(fc.product_ids[rows[i]])
            lines.append(ForecastLine(sku[pid], model[pid], [round(float(v), 2) for v in mean[i]], low[i].tolist(),
                                      high[i].tolist(), round(float(totals[i]), 2)))
        more = int(selling.sum()) - len(lines)
        full_mean, full_low, full_high = fc.mean[rows].sum(0), fc.low[rows].sum(0), fc.high[rows].sum(0)
        band = [(data.week + timedelta(weeks=i), float(full_low[i]), float(full_mean[i]), float(full_high[i]))
                for i in range(fc.mean.shape[1])]
    by_week = idx["weekly"].get(store_id, {})
    order_lines = sorted((OrderLine(sku[p], model[p], int(q), float(q * price[p]))
                          for p, q in idx["suggested"].get(store_id, [])), key=lambda o: o.sku)
    at_risk = sorted((RiskLine(sku[p], model[p], int(h), int(t), float(r), float(c), float(lead))
                      for p, h, t, r, c, lead in idx["risk"].get(store_id, [])),
                     key=lambda r: (r.weeks_of_cover, -r.weekly_rate))
    moving = {p: (to, q) for p, to, q in idx["transfers"].get(store_id, [])}
    aging = []
    for p, on_hand, last in idx["aged"].get(store_id, []):
        to = moving.get(p)
        aging.append(AgingLine(sku[p], model[p], int(on_hand), None if last is None else pd.Timestamp(last).to_pydatetime(),
                               float(on_hand * price[p]), idx["code"][to[0]] if to else None, int(to[1]) if to else 0))
    aging.sort(key=lambda a: -a.value)

    # Last week: the run that started a week ago, its first week, against what sold in it.
    sold_last = idx["last_sold"].get(store_id, {})
    accuracy, forecast_total = [], None
    if data.last_week.start is not None and len(data.last_week.mean):
        f = {int(data.last_week.product_ids[i]): float(data.last_week.mean[i, 0])
             for i in idx["last"].get(store_id, [])}
        forecast_total = sum(f.values())
        for p in set(f) | set(sold_last):
            fv, sv = f.get(p, 0.0), int(sold_last.get(p, 0))
            if fv >= 0.05 or sv:
                accuracy.append(AccuracyLine(sku[p], model[p], round(fv, 2), sv))
        accuracy.sort(key=lambda a: (-abs(a.forecast - a.sold), a.sku))
    return StoreDigest(
        week=data.week, label=data.label, store_id=store_id, code=store["code"], name=store["name"],
        currency=currency, timezone=store["timezone"], weeks=weeks, forecast=lines, more_skus=more,
        low_q=fc.low_q, high_q=fc.high_q, order=order_lines, order_units=sum(o.quantity for o in order_lines),
        order_value=sum(o.value for o in order_lines), at_risk=at_risk[:TOP_RISKS], aging=aging[:TOP_RISKS],
        last_week=accuracy[:TOP_RISKS], last_week_forecast=forecast_total,
        last_week_sold=int(by_week.get(data.week - timedelta(weeks=1), 0)),
        history=_history(data, by_week), band=band, has_forecast=bool(len(rows)))


@dataclass(frozen=True)
class ProvinceLine:
    province: str
    sold: int
    on_hand: int
    sell_through: float | None  # sold / (sold + on hand)


@dataclass(frozen=True)
class PurchaseLine:
    sku: str
    model: str
    dc: str
    quantity: int
    arrival_week: date
    value: float
    currency: str


@dataclass
class BrandDigest:
    week: date
    label: str
    brand_id: int
    code: str
    name: str
    name_zh: str
    weeks: list[date]
    provinces: list[ProvinceLine]
    forecast: list[ForecastLine]  # network totals by SKU, 13 weeks
    more_skus: int  # SKUs of the brand expected to sell nothing in the 13 weeks (not listed)
    purchases: list[PurchaseLine]
    purchase_units: int
    purchase_value: float
    cost_currency: str
    history: list[tuple[date, int]]
    band: list[tuple[date, float, float, float]]
    skus: list[str] = field(default_factory=list)  # every SKU of the brand


def brand_digest(data: WeekData, brand_id: int) -> BrandDigest:
    """One brand's week: only its own SKUs (pure; `load(brand_id=...)` reads only those)."""
    brand = data.brands.loc[brand_id]
    products = data.products
    own = set(products.index[products["brand_id"] == brand_id])
    stores = data.stores
    store_ids = set(stores.index[stores["kind"] == LocationKind.store])
    sales = data.sales[data.sales["product_id"].isin(own) & data.sales["location_id"].isin(store_ids)]
    recent = sales[sales["week"] >= data.week - timedelta(weeks=4)]
    bal = data.balances[data.balances["product_id"].isin(own) & data.balances["location_id"].isin(store_ids)]
    prov_sold = recent.groupby(recent["location_id"].map(stores["province"]))["units"].sum()
    prov_hand = bal.groupby(bal["location_id"].map(stores["province"]))["on_hand"].sum()
    provinces = []
    for name in sorted(set(prov_sold.index) | set(prov_hand.index)):
        s, h = int(prov_sold.get(name, 0)), int(prov_hand.get(name, 0))
        provinces.append(ProvinceLine(name, s, h, s / (s + h) if s + h else None))
    provinces.sort(key=lambda p: (-p.sold, p.province))
    fc = data.forecast
    keep = np.isin(fc.product_ids, list(own))
    lines, band, more = [], [], 0
    if keep.any():
        frame_pids = fc.product_ids[keep]
        for pid in sorted(set(frame_pids.tolist()), key=lambda p: products.at[p, "sku"]):
            sel = np.nonzero(keep & (fc.product_ids == pid))[0]
            mean, low, high = fc.mean[sel].sum(0), fc.low[sel].sum(0), fc.high[sel].sum(0)
            lines.append(ForecastLine(products.at[pid, "sku"], products.at[pid, "model"],
                                      [round(float(v), 1) for v in mean], low.tolist(), high.tolist(),
                                      round(float(mean.sum()), 1)))
        lines.sort(key=lambda ln: -ln.total)
        more = sum(1 for ln in lines if ln.total < 0.05)  # expected to sell nothing: counted, not listed
        lines = [ln for ln in lines if ln.total >= 0.05]
        m, lo, hi = fc.mean[keep].sum(0), fc.low[keep].sum(0), fc.high[keep].sum(0)
        band = [(data.week + timedelta(weeks=i), float(lo[i]), float(m[i]), float(hi[i])) for i in range(len(m))]
    purchases = []
    pur = data.purchases[data.purchases["brand_id"] == brand_id]
    currency = "CNY"
    for r in pur.itertuples():
        p = products.loc[int(r.product_id)]
        currency = p["cost_currency"]
        purchases.append(PurchaseLine(p["sku"], p["model"], stores.at[int(r.dc_id), "code"], int(r.quantity),
                                      r.arrival_week, float(r.quantity * p["cost"]), p["cost_currency"]))
    purchases.sort(key=lambda x: (x.arrival_week, x.sku, x.dc))
    by_week = sales.groupby("week")["units"].sum().to_dict() if len(sales) else {}
    history = [(data.week - timedelta(weeks=HISTORY_WEEKS - i), int(by_week.get(
        data.week - timedelta(weeks=HISTORY_WEEKS - i), 0))) for i in range(HISTORY_WEEKS)]
    horizon = fc.mean.shape[1] if len(fc.mean) else 0
    return BrandDigest(
        week=data.week, label=data.label, brand_id=brand_id, code=brand["code"], name=brand["name"],
        name_zh=brand["name_zh"], weeks=[data.week + timedelta(weeks=i) for i in range(horizon)],
        provinces=provinces, forecast=lines, more_skus=more, purchases=purchases,
        purchase_units=sum(p.quantity for p in purchases), purchase_value=sum(p.value for p in purchases),
        cost_currency=currency, history=history, band=band, skus=sorted(products.loc[list(own), "sku"]))


@dataclass(frozen=True)
class NetworkRisk:
    store: str
    store_name: str
    sku: str
    model: str
    on_hand: int
    weekly_rate: float
    weeks_of_cover: float
    value_at_risk: float  # CNY: the weekly sales value a shelf without it would lose


@dataclass
class PlannerDigest:
    week: date
    label: str
    turnover: float | None
    fill_rate: float | None
    stockouts: int
    selling_cells: int
    units_4w: int
    missed_4w: int
    accuracy: list[tuple[date, float, float]]
    risks: list[NetworkRisk]
    aged_units: int
    aged_value: float
    order_lines: int
    order_units: int
    purchase_units: int
    history: list[tuple[date, int]]
    band: list[tuple[date, float, float, float]]


def planner_digest(data: WeekData) -> PlannerDigest:
    """The network's week (pure): turnover, fill rate, stockouts, accuracy trend, the biggest risks."""
    products, stores = data.products, data.stores
    store_ids = set(stores.index[stores["kind"] == LocationKind.store])
    sales = data.sales[data.sales["location_id"].isin(store_ids)]
    units = sales.groupby("product_id")["units"].sum() if len(sales) else pd.Series(dtype=float)
    cost = products["cost"]
    sku_cost = pd.Series(cost.to_numpy(), index=products["sku"].to_numpy())
    panel_sold = pd.DataFrame({"sku": products["sku"].reindex(units.index).to_numpy(), "sold": units.to_numpy()})
    bal = data.balances[data.balances["location_id"].isin(store_ids)]
    # Store turnover: 13 weeks of cost of goods sold, annualised, over the stores' stock at cost now.
    inventory = pd.DataFrame({"sku": products["sku"].reindex(bal["product_id"]).to_numpy(), "week": data.week,
                              "closing": bal["on_hand"].to_numpy()})
    avg = kpis.average_inventory(inventory, sku_cost) if len(inventory) else 0.0
    turnover = kpis.cogs(panel_sold, sku_cost) * (52.0 / HISTORY_WEEKS) / avg if avg > 0 and len(panel_sold) else None
    recent = sales[sales["week"] >= data.week - timedelta(weeks=4)]
    sold_4w, missed_4w = int(recent["units"].sum()), int(data.missed["quantity"].sum()) if len(data.missed) else 0
    fill = (kpis.unit_fill_rate(pd.DataFrame({"sold": [sold_4w], "demand": [sold_4w + missed_4w]}))
            if sold_4w + missed_4w else None)
    cells = sales.groupby(["location_id", "product_id"])["units"].sum().rename("recent").reset_index()
    cells = cells.merge(bal, on=["location_id", "product_id"], how="left").fillna({"on_hand": 0, "in_transit": 0})
    stockouts = int((cells["on_hand"] <= 0).sum())
    rate = cells["recent"].to_numpy(dtype=float) / RATE_WEEKS
    cover = kpis.weeks_of_cover(cells["on_hand"].to_numpy(), rate)
    lead = products["lead_time_days"].reindex(cells["product_id"]).fillna(0).to_numpy(dtype=float) / 7 \
        + REVIEW_AND_SAFETY_WEEKS
    price = products["price_CNY"].reindex(cells["product_id"]).to_numpy(dtype=float)
    risky = np.nonzero(cover < lead)[0]
    value = rate * price
    risks = []
    for j in risky[np.argsort(-value[risky], kind="stable")][:TOP_RISKS]:
        loc, pid = int(cells["location_id"].iloc[j]), int(cells["product_id"].iloc[j])
        risks.append(NetworkRisk(stores.at[loc, "code"], stores.at[loc, "name"], products.at[pid, "sku"],
                                 products.at[pid, "model"], int(cells["on_hand"].iloc[j]), float(rate[j]),
                                 float(cover[j]), float(value[j])))
    store_bal = bal
    aged = kpis.aged_stock(
        pd.DataFrame({"store": store_bal["location_id"].to_numpy(), "sku": store_bal["product_id"].to_numpy(),
                      "on_hand": store_bal["on_hand"].to_numpy()}),
        pd.DataFrame({"store": data.last_sale["location_id"].to_numpy(), "sku": data.last_sale["product_id"].to_numpy(),
                      "date": data.last_sale["last_sale"].to_numpy(), "units": 1}),
        as_of=pd.Timestamp(data.as_of))
    aged_value = float((aged["on_hand"] * cost.reindex(aged["sku"]).to_numpy()).sum()) if len(aged) else 0.0
    by_week = sales.groupby("week")["units"].sum().to_dict() if len(sales) else {}
    history = [(data.week - timedelta(weeks=HISTORY_WEEKS - i), int(by_week.get(
        data.week - timedelta(weeks=HISTORY_WEEKS - i), 0))) for i in range(HISTORY_WEEKS)]
    fc = data.forecast
    band = []
    if len(fc.mean):
        m, lo, hi = fc.mean.sum(0), fc.low.sum(0), fc.high.sum(0)
        band = [(data.week + timedelta(weeks=i), float(lo[i]), float(m[i]), float(hi[i])) for i in range(len(m))]
    return PlannerDigest(
        week=data.week, label=data.label, turnover=turnover, fill_rate=fill, stockouts=stockouts,
        selling_cells=len(cells), units_4w=sold_4w, missed_4w=missed_4w, accuracy=data.accuracy, risks=risks,
        aged_units=int(aged["on_hand"].sum()) if len(aged) else 0, aged_value=aged_value,
        order_lines=int(len(data.suggested)), order_units=int(data.suggested["quantity"].sum()) if len(
            data.suggested) else 0,
        purchase_units=int(data.purchases["quantity"].sum()) if len(data.purchases) else 0,
        history=history, band=band)


@query
def find_recipient(session: Session, *, who: str) -> Recipient:
    """A person by id or email address, as the recipient of their weekly email (the admin preview)."""
    who = (who or "").strip()
    if who.isdigit() and len(who) <= 10:
        return recipient_for(session, user_id=int(who))
    user_id = session.execute(select(User.id).where(func.lower(User.email) == who.lower())).scalar()
    if user_id is None:
        raise errors.NotFound(what="User", key=who)
    return recipient_for(session, user_id=user_id)


def digest_for(data: WeekData, recipient: Recipient):
    """The digest of a recipient's kind, from data loaded for it (`load_for`)."""
    if recipient.kind == EmailKind.store:
        return store_digest(data, recipient.scope_id)
    if recipient.kind == EmailKind.brand:
        return brand_digest(data, recipient.scope_id)
    return planner_digest(data)


@query
def load_for(session: Session, *, recipient: Recipient, week: date) -> WeekData:
    """Only what one recipient's email needs (the preview): one store, one brand, or the network."""
    if recipient.kind == EmailKind.store:
        return load(session, week=week, store_ids=[recipient.scope_id])
    if recipient.kind == EmailKind.brand:
        return load(session, week=week, brand_id=recipient.scope_id)
    return load(session, week=week, accuracy=True)
