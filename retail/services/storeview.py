"""Read models for the store pages: what a shop has, what is at risk, what is on its way.

Pure reads, no commits. The caller passes `as_of` (the clock is read at the edge).
Weeks of cover and aged stock are the KPIs of `forecasting.kpis` (one definition for pages,
dashboards and the simulation): cover = units on hand / average weekly units sold over the last
13 weeks; aged = units on hand and no sale of the SKU at the store for 90 days (or never).
At risk: selling, and cover shorter than a replenishment takes to arrive: the brand's lead time plus
two weeks (a weekly review and a week of safety); a SKU that sold recently and is out counts too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from forecasting import kpis
from retail import errors
from retail.models import (
    Brand,
    ForecastRun,
    ForecastSeries,
    Location,
    LocationKind,
    MissedSale,
    Movement,
    MovementKind,
    Product,
    ReplenishmentOrder,
    ReplenishmentOrderLine,
    ReplenishmentRun,
    SerialState,
    SerialUnit,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    StockBalance,
    StockCount,
    StockCountLine,
    SuggestedLine,
    TransferRequest,
    TransferStatus,
    User,
)
from retail.services.weekly_sales import local_midnight, week_start

RATE_WEEKS = 13
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
    aging: bool


@dataclass(frozen=True)
class Delivery:
    id: int
    reference: str
    shipped_at: datetime
    expected_at: datetime | None
    lines: int
    units: int
    origin: str | None = None  # the code of the warehouse or store it comes from


def store(session: Session, store_id: int) -> Location:
    location = session.get(Location, store_id)
    if location is None or location.kind != LocationKind.store:
        raise errors.UnknownLocation(location=store_id)
    return location


def _aware(ts: datetime | None) -> datetime | None:
    from datetime import UTC

    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def stock_lines(session: Session, *, store_id: int, as_of: datetime) -> list[StockLine]:
    since = as_of - timedelta(weeks=RATE_WEEKS)
    m = Movement.__table__.c
    # The time bounds stay inside the aggregates: in the WHERE clause they lead SQLite to the
    # network-wide (kind, ts) index instead of this store's rows (28 ms instead of 3 in the demo world).
    sold = {row.product_id: row for row in session.execute(
        select(m.product_id,
               func.sum(case((and_(m.ts >= since, m.ts <= as_of), -m.quantity), else_=0)).label("recent_units"),
               func.max(case((m.ts <= as_of, m.ts))).label("last_sale"))
        .where(m.location_id == store_id, m.kind == MovementKind.sale)
        .group_by(m.product_id)
    )}
    b = StockBalance.__table__.c
    balances = session.execute(
        select(b.product_id, Product.sku, Product.model, Product.variant, Brand.name.label("brand"),
               Product.serialised, b.on_hand, b.demo, b.in_transit, Brand.lead_time_days)
        .select_from(StockBalance)
        .join(Product, Product.id == b.product_id)
        .join(Brand, Brand.id == Product.brand_id)
        .where(b.location_id == store_id)
        .order_by(Product.sku)
    ).all()
    rows = []
    for r in balances:
        sale = sold.get(r.product_id)
        recent = int(sale.recent_units or 0) if sale else 0
        if r.on_hand > 0 or r.demo > 0 or r.in_transit > 0 or recent > 0:
            rows.append((r, recent, _aware(sale.last_sale) if sale else None))
    rates = [recent / RATE_WEEKS for _, recent, _ in rows]
    covers = kpis.weeks_of_cover([r.on_hand for r, _, _ in rows], rates) if rows else []
    last_sales = [last for _, _, last in rows]
    rows = [r for r, _, _ in rows]
    # kpis.aged_stock's rule (no sale in AGED_DAYS, or never), on a handful of rows without a DataFrame.
    aged_before = as_of - timedelta(days=kpis.AGED_DAYS)
    aged = {r.sku for r, last in zip(rows, last_sales, strict=True)
            if r.on_hand > 0 and (last is None or last <= aged_before)}
    lines = []
    for r, rate, cover, last_sale in zip(rows, rates, covers, last_sales, strict=True):
        cover = None if math.isinf(cover) else float(cover)
        threshold = (r.lead_time_days or 0) / 7 + REVIEW_AND_SAFETY_WEEKS
        lines.append(StockLine(
            sku=r.sku, model=r.model, variant=r.variant, brand=r.brand, serialised=r.serialised,
            on_hand=r.on_hand, demo=r.demo, in_transit=r.in_transit, weekly_rate=rate, weeks_of_cover=cover,
            last_sale_at=last_sale, at_risk=rate > 0 and cover is not None and cover < threshold,
            aging=r.sku in aged,
        ))
    return lines


def open_deliveries(session: Session, *, store_id: int) -> list[Delivery]:
    """Shipments on their way to this store, from a warehouse or from another store (transfers)."""
    line = ShipmentLine.__table__.c
    origin = Location.__table__.alias("origin")
    rows = session.execute(
        select(Shipment.id, Shipment.reference, Shipment.shipped_at, Shipment.expected_at,
               func.count(line.id), func.coalesce(func.sum(line.quantity), 0), origin.c.code)
        .join(ShipmentLine, line.shipment_id == Shipment.id)
        .outerjoin(origin, origin.c.id == Shipment.from_location_id)
        .where(Shipment.to_location_id == store_id, Shipment.status == ShipmentStatus.in_transit)
        .group_by(Shipment.id, Shipment.reference, Shipment.shipped_at, Shipment.expected_at, origin.c.code)
        .order_by(Shipment.shipped_at)
    ).all()
    return [Delivery(r[0], r[1], _aware(r[2]), _aware(r[3]), r[4], int(r[5]), r[6]) for r in rows]


def open_delivery(session: Session, *, store_id: int, shipment_id: int) -> tuple[Shipment, list[tuple]]:
    """A shipment on its way to this store, with (line, product) pairs; NotFound for anyone else's."""
    shipment = session.get(Shipment, shipment_id)
    if shipment is None or shipment.to_location_id != store_id:
        raise errors.NotFound(what="Shipment", key=shipment_id)
    lines = session.execute(
        select(ShipmentLine, Product).join(Product, Product.id == ShipmentLine.product_id)
        .where(ShipmentLine.shipment_id == shipment.id).order_by(Product.sku)
    ).all()
    return shipment, [tuple(row) for row in lines]


def weekly_sales(session: Session, *, store_id: int, as_of: datetime, weeks: int = 12,
                 sku: str | None = None) -> list[tuple[date, int]]:
    """Units sold per week, oldest first, the current week last. Weeks start on the store's local Monday
    (`weekly_sales.week_start`), the week rule of the forecast and the export."""
    location = session.get(Location, store_id)
    timezone = location.timezone if location is not None else None
    this_monday = week_start(as_of, timezone)
    start = this_monday - timedelta(weeks=weeks - 1)
    query = select(Movement.ts, Movement.quantity).where(
        Movement.location_id == store_id, Movement.kind == MovementKind.sale,
        Movement.ts >= local_midnight(start, timezone), Movement.ts <= as_of)
    if sku:
        query = query.join(Product, Product.id == Movement.product_id).where(Product.sku == sku)
    buckets = {start + timedelta(weeks=i): 0 for i in range(weeks)}
    for ts, quantity in session.execute(query):
        buckets[week_start(ts, timezone)] += -quantity
    return sorted(buckets.items())


def product_choices(session: Session, *, store_id: int) -> list[tuple[str, str]]:
    """SKUs the store holds or has held, for the pickers of the forms: (sku, label)."""
    rows = session.execute(
        select(Product.sku, Product.model, Product.variant)
        .join(StockBalance, StockBalance.product_id == Product.id)
        .where(StockBalance.location_id == store_id).order_by(Product.sku)
    ).all()
    return [(r.sku, f"{r.model} {r.variant}".strip()) for r in rows]


def search_products(session: Session, *, query: str, limit: int = 20) -> list[Product]:
    text = (query or "").strip()
    if not text:
        return []
    like = f"%{text.lower()}%"
    return list(session.execute(
        select(Product).where(or_(func.lower(Product.sku).like(like), func.lower(Product.model).like(like),
                                  Product.barcode == text))
        .order_by(Product.sku).limit(limit)
    ).scalars())


def recent_sales(session: Session, *, store_id: int, limit: int = 10) -> list[tuple[Movement, Product]]:
    rows = session.execute(
        select(Movement, Product).join(Product, Product.id == Movement.product_id)
        .where(Movement.location_id == store_id, Movement.kind == MovementKind.sale)
        .order_by(Movement.ts.desc(), Movement.id.desc()).limit(limit)
    ).all()
    return [tuple(r) for r in rows]


def missed_sales(session: Session, *, store_id: int, limit: int = 10) -> list[tuple[MissedSale, Product]]:
    rows = session.execute(
        select(MissedSale, Product).join(Product, Product.id == MissedSale.product_id)
        .where(MissedSale.store_id == store_id).order_by(MissedSale.ts.desc()).limit(limit)
    ).all()
    return [tuple(r) for r in rows]


def counts(session: Session, *, store_id: int, limit: int = 10) -> list[StockCount]:
    return list(session.execute(
        select(StockCount).where(StockCount.store_id == store_id)
        .order_by(StockCount.counted_at.desc(), StockCount.id.desc()).limit(limit)
    ).scalars())


def count_detail(session: Session, *, store_id: int, count_id: int) -> tuple[StockCount, list[tuple]]:
    count = session.get(StockCount, count_id)
    if count is None or count.store_id != store_id:
        raise errors.NotFound(what="Stock count", key=count_id)
    lines = session.execute(
        select(StockCountLine, Product).join(Product, Product.id == StockCountLine.product_id)
        .where(StockCountLine.count_id == count.id).order_by(Product.sku)
    ).all()
    return count, [tuple(r) for r in lines]


def transfer_requests(session: Session, *, store_id: int, incoming: bool | None = None,
                      limit: int = 20) -> list[tuple]:
    """Requests this store made (`incoming=False`), received as the origin (`incoming=True`) or both:
    (request, product, other store's code, other store's name). Open requests first, then the newest,
    so a request still waiting for an answer is never pushed off the page by old ones."""
    other = Location.__table__.alias("other")
    if incoming is None:
        mine = or_(TransferRequest.to_store_id == store_id, TransferRequest.from_store_id == store_id)
    else:
        mine = (TransferRequest.from_store_id if incoming else TransferRequest.to_store_id) == store_id
    rows = session.execute(
        select(TransferRequest, Product, other.c.code, other.c.name)
        .join(Product, Product.id == TransferRequest.product_id)
        .join(other, other.c.id == case((TransferRequest.to_store_id == store_id, TransferRequest.from_store_id),
                                        else_=TransferRequest.to_store_id))
        .where(mine)
        .order_by(case((TransferRequest.status == TransferStatus.requested, 0), else_=1),
                  TransferRequest.requested_at.desc(), TransferRequest.id.desc())
        .limit(limit)
    ).all()
    return [tuple(r) for r in rows]


def transfers_to_answer(session: Session, *, store_id: int) -> int:
    """Requests other stores made of this one that still wait for it to ship or decline."""
    return session.execute(
        select(func.count()).select_from(TransferRequest)
        .where(TransferRequest.from_store_id == store_id, TransferRequest.status == TransferStatus.requested)
    ).scalar_one()


@dataclass(frozen=True)
class TransferDetail:
    request: TransferRequest
    product: Product
    origin: Location  # the store asked to send
    destination: Location  # the store that asked
    incoming: bool  # True when the store looking is the origin
    on_hand_at_origin: int
    serials_at_origin: list[str]  # in stock at the origin, for the origin's ship form (serialised SKUs)
    shipment: Shipment | None
    requested_by: str | None
    acted_by: str | None


def transfer_detail(session: Session, *, store_id: int, transfer_id: int) -> TransferDetail:
    """A transfer request as one of its two stores sees it; NotFound for any other store."""
    transfer = session.get(TransferRequest, transfer_id)
    if transfer is None or store_id not in (transfer.from_store_id, transfer.to_store_id):
        raise errors.NotFound(what="Transfer request", key=transfer_id)
    product = session.get(Product, transfer.product_id)
    origin, destination = session.get(Location, transfer.from_store_id), session.get(Location, transfer.to_store_id)
    balance = session.get(StockBalance, (origin.id, product.id))
    incoming = transfer.from_store_id == store_id
    serials = []
    if incoming and product.serialised and transfer.status == TransferStatus.requested:
        serials = list(session.execute(
            select(SerialUnit.serial).where(SerialUnit.location_id == origin.id, SerialUnit.product_id == product.id,
                                            SerialUnit.state == SerialState.in_stock)
            .order_by(SerialUnit.serial)).scalars())
    names = dict(session.execute(select(User.id, User.name).where(
        User.id.in_([i for i in (transfer.requested_by, transfer.acted_by) if i is not None]))).all())
    return TransferDetail(
        request=transfer, product=product, origin=origin, destination=destination, incoming=incoming,
        on_hand_at_origin=balance.on_hand if balance else 0, serials_at_origin=serials,
        shipment=session.get(Shipment, transfer.shipment_id) if transfer.shipment_id else None,
        requested_by=names.get(transfer.requested_by), acted_by=names.get(transfer.acted_by))


def stores_with_stock(session: Session, *, sku: str, exclude_store_id: int, limit: int = 10) -> list[tuple]:
    """Other active stores holding the SKU, most units first: where a transfer could come from."""
    rows = session.execute(
        select(Location.code, Location.name, Location.city, StockBalance.on_hand)
        .join(StockBalance, StockBalance.location_id == Location.id)
        .join(Product, Product.id == StockBalance.product_id)
        .where(Product.sku == sku, Location.kind == LocationKind.store, Location.status == "active",
               Location.id != exclude_store_id, StockBalance.on_hand > 0)
        .order_by(StockBalance.on_hand.desc(), Location.code).limit(limit)
    ).all()
    return [tuple(r) for r in rows]


def find_stores(session: Session, *, query: str = "", limit: int = 50) -> list[Location]:
    """Stores matching a code, name or city, for the planners' store picker."""
    q = select(Location).where(Location.kind == LocationKind.store)
    text = (query or "").strip().lower()
    if text:
        like = f"%{text}%"
        q = q.where(or_(func.lower(Location.code).like(like), func.lower(Location.name).like(like),
                        func.lower(Location.city).like(like), Location.city_zh.like(f"%{query.strip()}%")))
    return list(session.execute(q.order_by(Location.code).limit(limit)).scalars())


@dataclass(frozen=True)
class ForecastWeek:
    week: date
    low: float
    mean: float
    high: float
    low_q: int  # the quantiles bounding the band, in percent
    high_q: int


def forecast(session: Session, *, store_id: int, sku: str, as_of: datetime) -> list[ForecastWeek]:
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

@dataclass(frozen=True)
class SuggestedOrder:
    run: ReplenishmentRun
    lines: list[tuple]  # (SuggestedLine, Product, ordered quantity or None)
    order: ReplenishmentOrder | None


def suggested_order(session: Session, *, store_id: int) -> SuggestedOrder | None:
    """The store's lines of the latest replenishment run, with the order made of them if any."""
    run = session.execute(select(ReplenishmentRun).join(SuggestedLine, SuggestedLine.run_id == ReplenishmentRun.id)
                          .where(SuggestedLine.location_id == store_id)
                          .order_by(ReplenishmentRun.as_of.desc(), ReplenishmentRun.id.desc()).limit(1)
                          ).scalars().first()
    if run is None:
        return None
    rows = session.execute(
        select(SuggestedLine, Product).join(Product, Product.id == SuggestedLine.product_id)
        .where(SuggestedLine.run_id == run.id, SuggestedLine.location_id == store_id).order_by(Product.sku)
    ).all()
    order_id = next((line.order_id for line, _ in rows if line.order_id is not None), None)
    order = session.get(ReplenishmentOrder, order_id) if order_id else None
    ordered = {}
    if order is not None:
        ordered = dict(session.execute(select(ReplenishmentOrderLine.product_id, ReplenishmentOrderLine.quantity)
                                       .where(ReplenishmentOrderLine.order_id == order.id)).all())
    return SuggestedOrder(run, [(line, product, ordered.get(product.id, 0) if order else None)
                                for line, product in rows], order)
