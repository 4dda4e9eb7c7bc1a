"""What a store holds: stock lines with their rate of sale, weeks of cover, risk and aging.

Pure reads. The caller passes `as_of` (the clock is read at the edge). Weeks of cover and aged stock are
the KPIs of `forecasting.kpis` (one definition for pages, dashboards and the simulation): cover = units on
hand / average weekly units sold over the last 13 weeks; aging = `kpis.is_aging` (units on hand and no
sale for longer than the SKU's expected interval between sales at the store, from its last 52 weeks, and
at least 90 days; never sold: aging). At risk: selling, and cover shorter than a
replenishment takes to arrive: the brand's lead time plus two weeks (a weekly review and a week of
safety); a SKU that sold recently and is out counts too.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, select
from sqlmodel import Session

from forecasting import kpis
from retail.clock import as_utc
from retail.models import Brand, Movement, MovementKind, Product, SerialState, SerialUnit, StockBalance
from retail.services.verbs import query

RATE_WEEKS = 13
INTERVAL_WEEKS = 52  # the window of a SKU's expected interval between sales (`kpis.expected_interval_days`)
REVIEW_AND_SAFETY_WEEKS = 2.0


@dataclass(frozen=True)
class StockLine:
    sku: str
    model: str
    variant: str
    brand: str
    serialised: bool
    on_hand: int
    demo: int
    in_transit: int
    weekly_rate: float
    weeks_of_cover: float | None  # None: nothing sold recently, cover is unbounded
    last_sale_at: datetime | None
    at_risk: bool
    aging: bool  # no sale for longer than the SKU's expected interval between sales here (`kpis.is_aging`)

    @property
    def selling(self) -> bool:
        return self.weekly_rate > 0


def _sold(session: Session, store_id: int, as_of: datetime, product_ids: list[int] | None = None) -> dict:
    """Per product: units sold in the RATE_WEEKS before `as_of`, and the last sale up to `as_of`."""
    since = as_of - timedelta(weeks=RATE_WEEKS)
    year = as_of - timedelta(weeks=INTERVAL_WEEKS)
    m = Movement.__table__.c
    # The time bounds stay inside the aggregates: in the WHERE clause they lead SQLite to the
    # network-wide (kind, ts) index instead of this store's rows (28 ms instead of 3 in the demo world).
    statement = (select(m.product_id,
                        func.sum(case((and_(m.ts >= since, m.ts <= as_of), -m.quantity), else_=0)).label("recent_units"),
                        func.sum(case((and_(m.ts >= year, m.ts <= as_of), -m.quantity), else_=0)).label("year_units"),
                        func.max(case((m.ts <= as_of, m.ts))).label("last_sale"))
                 .where(m.location_id == store_id, m.kind == MovementKind.sale).group_by(m.product_id))
    if product_ids is not None:
        statement = statement.where(m.product_id.in_(product_ids))
    return {row.product_id: row for row in session.execute(statement)}


def _balances(store_id: int):
    b = StockBalance.__table__.c
    return (select(b.product_id, Product.sku, Product.model, Product.variant, Brand.name.label("brand"),
                   Product.serialised, b.on_hand, b.demo, b.in_transit, Brand.lead_time_days)
            .select_from(StockBalance)
            .join(Product, Product.id == b.product_id)
            .join(Brand, Brand.id == Product.brand_id)
            .where(b.location_id == store_id)
            .order_by(Product.sku))


def _lines(balances, sold: dict, as_of: datetime) -> list[StockLine]:
    """The lines of the balances that hold or move something, with the KPIs of `forecasting.kpis`."""
    rows = []
    for r in balances:
        sale = sold.get(r.product_id)
        recent = int(sale.recent_units or 0) if sale else 0
        if r.on_hand > 0 or r.demo > 0 or r.in_transit > 0 or recent > 0:
            rows.append((r, recent, as_utc(sale.last_sale) if sale else None,
                         int(sale.year_units or 0) if sale else 0))
    if not rows:
        return []
    rates = [recent / RATE_WEEKS for _, recent, _, _ in rows]
    covers = kpis.weeks_of_cover([r.on_hand for r, _, _, _ in rows], rates)
    days_since = [math.nan if last is None else (as_of - last).total_seconds() // 86400 for _, _, last, _ in rows]
    intervals = kpis.expected_interval_days([year for _, _, _, year in rows], INTERVAL_WEEKS * 7)
    aged = kpis.is_aging([r.on_hand for r, _, _, _ in rows], days_since, intervals)
    lines = []
    for (r, _, last_sale, _), rate, cover, old in zip(rows, rates, covers, aged, strict=True):
        cover = None if math.isinf(cover) else float(cover)
        threshold = (r.lead_time_days or 0) / 7 + REVIEW_AND_SAFETY_WEEKS
        lines.append(StockLine(
            sku=r.sku, model=r.model, variant=r.variant, brand=r.brand, serialised=r.serialised,
            on_hand=r.on_hand, demo=r.demo, in_transit=r.in_transit, weekly_rate=rate, weeks_of_cover=cover,
            last_sale_at=last_sale, at_risk=rate > 0 and cover is not None and cover < threshold, aging=bool(old),
        ))
    return lines


@query
def stock_lines(session: Session, *, store_id: int, as_of: datetime) -> list[StockLine]:
    return _lines(session.execute(_balances(store_id)).all(), _sold(session, store_id, as_of), as_of)


@functools.cache
def _page_statement(paged: bool):
    """The statement of `stock_page`, built once with bound parameters (store_id, since, year, as_of,
    after_sku, limit): each line's sales by index lookups in scalar subqueries."""
    b, m = StockBalance.__table__.c, Movement.__table__.c
    store_id, since, as_of = bindparam("store_id"), bindparam("since"), bindparam("as_of")
    sales_of_line = (m.location_id == store_id) & (m.product_id == b.product_id) & (m.kind == MovementKind.sale)
    recent = select(func.coalesce(func.sum(-m.quantity), 0)).where(sales_of_line, m.ts >= since, m.ts <= as_of)
    year = select(func.coalesce(func.sum(-m.quantity), 0)).where(sales_of_line, m.ts >= bindparam("year"),
                                                                 m.ts <= as_of)
    last = select(func.max(m.ts)).where(sales_of_line, m.ts <= as_of)
    statement = _balances(store_id).add_columns(recent.scalar_subquery().label("recent_units"),
                                                year.scalar_subquery().label("year_units"),
                                                last.scalar_subquery().label("last_sale"))
    statement = statement.where((b.on_hand > 0) | (b.demo > 0) | (b.in_transit > 0) | b.product_id.in_(
        select(m.product_id).where(m.location_id == store_id, m.kind == MovementKind.sale, m.ts >= since)))
    if paged:
        statement = statement.where(Product.sku > bindparam("after_sku"))
    return statement.limit(bindparam("limit"))


@query
def stock_page(session: Session, *, store_id: int, as_of: datetime, after_sku: str | None = None,
               limit: int = 50) -> list[StockLine]:
    """`stock_lines` a page at a time, by SKU after `after_sku` (the API's lists): the same lines, read in
    one statement (each line's sales by two index lookups), whatever the store's history."""
    params = {"store_id": store_id, "since": as_of - timedelta(weeks=RATE_WEEKS), "as_of": as_of,
              "year": as_of - timedelta(weeks=INTERVAL_WEEKS), "limit": limit}
    if after_sku is not None:
        params["after_sku"] = after_sku
    balances = session.execute(_page_statement(after_sku is not None), params).all()
    return _lines(balances, {r.product_id: r for r in balances}, as_of)


@dataclass(frozen=True)
class SerialLine:
    """One serialised unit at a store: on the shelf (`in_stock`) or on display (`demo`), since when (UTC)."""
    serial: str
    sku: str
    state: str
    since: datetime


SERIAL_STATES_AT_STORE = (SerialState.in_stock, SerialState.demo)


@query
def serials_page(session: Session, *, store_id: int, sku: str = "", state: str = "", after_serial: str | None = None,
                 limit: int = 50) -> list[SerialLine]:
    """The serial numbers a store holds (on the shelf or on display), by serial after `after_serial`, of one SKU
    or all, of one state or both: what a franchise POS reconciles its register with and scans at the till."""
    u = SerialUnit.__table__.c
    states = [s for s in SERIAL_STATES_AT_STORE if not state or s == state]
    statement = (select(u.serial, Product.sku, u.state, u.updated_at).join(Product, Product.id == u.product_id)
                 .where(u.location_id == store_id, u.state.in_(states)).order_by(u.serial).limit(limit))
    if sku:
        statement = statement.where(Product.sku == sku)
    if after_serial is not None:
        statement = statement.where(u.serial > after_serial)
    return [SerialLine(r.serial, r.sku, r.state, as_utc(r.updated_at)) for r in session.execute(statement)]
