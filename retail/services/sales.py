"""Sales at the till: sell (by SKU or by scanning serials), log a missed sale, and their reads.

Stock changes only through `ledger`. A sale from the web form, a POS import row and the API go through
`sell`, so selling by scan (the SKU taken from the serials, the quantity from their number) holds for all.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from sqlalchemy import select
from sqlmodel import Session

from retail import errors, parsing
from retail.models import (
    Location,
    MissedSale,
    Movement,
    MovementKind,
    Product,
    SerialState,
    SerialUnit,
    User,
    utcnow,
)
from retail.services import ledger, products
from retail.services.ledger.postings import clean_serials, location_by_id
from retail.services.verbs import STORE, query, verb
from retail.services.weekly_sales import local_midnight, week_start

MISSED_SALE_REASONS = ("out_of_stock", "no_demo", "other")
NOTE_LENGTH = 240
# The price band of a sale, as fractions of the list price in the store's currency: a discount down to half
# the list price (the deepest promotion the brands fund) and a mark-up up to 120 % (a bundle rung up on one
# line) are sold; anything outside, 0.00 included, is refused, naming the list price and the band. A price
# outside the band is a mistyped price or a giveaway: the list price changes in the catalogue, not at the till.
PRICE_FLOOR = Decimal("0.50")
PRICE_CEILING = Decimal("1.20")
CENT = Decimal("0.01")


def _product_of_serials(session: Session, store_id: int, serials: Sequence[str]) -> Product:
    """The product of the first scanned serial, when it is a unit in stock at this store; a unit elsewhere
    (or none) is SerialNotHere, like every other serial refusal, so a scan tells nothing of other stores."""
    unit = session.get(SerialUnit, serials[0])
    if unit is None or unit.location_id != store_id or unit.state != SerialState.in_stock:
        raise errors.SerialNotHere(serial=serials[0])
    return session.get(Product, unit.product_id)


@verb(STORE)
def sell(session: Session, actor: User, *, store_id: int, sku: str = "", quantity: int | None = None,
         serials: Sequence[str] | str = (), unit_price: Decimal | None = None, reference: str | None = None,
         at: datetime | None = None) -> Movement:
    """Record a sale: the SKU may be left out when serials are scanned, and for a serialised SKU the
    quantity defaults to the number of serials (one unit otherwise). The price defaults to the list
    price in the store's currency; a price given (a POS row, the API) must lie in the band around it
    (`_check_price`: PRICE_FLOOR to PRICE_CEILING of the list price), or PriceOutOfBand."""
    serials = clean_serials(serials)
    if not (sku or "").strip():
        if not serials:
            raise errors.MissingValue(field="sku")
        sku = _product_of_serials(session, store_id, serials).sku
    product = products.by_sku_or_barcode(session, sku)
    if quantity is None:
        quantity = len(serials) if product.serialised and serials else 1
    if unit_price is not None:
        _check_price(product, location_by_id(session, store_id).currency, unit_price)
    return ledger.record_sale(session, store_id=store_id, sku=product.sku, quantity=quantity, serials=serials,
                              unit_price=unit_price, reference=reference, actor_id=actor.id, at=at)


def _check_price(product: Product, currency: str, unit_price: Decimal) -> None:
    """Refuse a unit price outside [PRICE_FLOOR, PRICE_CEILING] x the list price in the store's currency."""
    list_price = Decimal(product.list_price_hkd if currency == "HKD" else product.list_price_cny)
    minimum = (list_price * PRICE_FLOOR).quantize(CENT, rounding=ROUND_CEILING)
    maximum = (list_price * PRICE_CEILING).quantize(CENT, rounding=ROUND_FLOOR)
    price = Decimal(unit_price)
    if price < minimum or price > maximum or (price <= 0 < list_price):
        raise errors.PriceOutOfBand(sku=product.sku, price=f"{price:.2f}", currency=currency,
                                    list_price=f"{list_price:.2f}", minimum=f"{minimum:.2f}", maximum=f"{maximum:.2f}")


@verb(STORE)
def record_missed_sale(session: Session, actor: User, *, store_id: int, sku: str, quantity: int = 1,
                       reason: str = "out_of_stock", note: str | None = None,
                       at: datetime | None = None) -> MissedSale:
    """A customer wanted a SKU the store could not sell (out of stock, no demo unit, ...)."""
    quantity = ledger.check_quantity(quantity)
    store = location_by_id(session, store_id)
    product = products.by_sku_or_barcode(session, sku)
    if reason not in MISSED_SALE_REASONS:
        raise errors.InvalidValue(field="reason", value=reason)
    missed = MissedSale(ts=at or utcnow(), store_id=store.id, product_id=product.id, quantity=quantity,
                        reason=reason, note=parsing.text(note, field="note", max_length=NOTE_LENGTH),
                        actor_id=actor.id)
    session.add(missed)
    session.flush()
    return missed


@query
def recent(session: Session, *, store_id: int, limit: int = 10) -> list[tuple[Movement, Product]]:
    rows = session.execute(
        select(Movement, Product).join(Product, Product.id == Movement.product_id)
        .where(Movement.location_id == store_id, Movement.kind == MovementKind.sale)
        .order_by(Movement.ts.desc(), Movement.id.desc()).limit(limit)
    ).all()
    return [tuple(r) for r in rows]


@query
def recent_missed(session: Session, *, store_id: int, limit: int = 10) -> list[tuple[MissedSale, Product]]:
    rows = session.execute(
        select(MissedSale, Product).join(Product, Product.id == MissedSale.product_id)
        .where(MissedSale.store_id == store_id).order_by(MissedSale.ts.desc()).limit(limit)
    ).all()
    return [tuple(r) for r in rows]


@query
def weekly_units(session: Session, *, store_id: int, as_of: datetime, weeks: int = 12,
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
