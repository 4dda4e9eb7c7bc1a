"""Prices: brand list prices, the platform's wholesale price lists per tier, promotions with date ranges, in CNY
and HKD (issue 15; docs/settlement.md).

A price list is `list` (the brand's list price) or a wholesale tier (`A`, `B`, `C`). Entries are only added,
never changed: a new regular entry with a later `valid_from` supersedes the old one, a promotion wins over the
regular price on its days. The price in force for a product, list, currency and day is one query
(`prices_in_force`, for many products at once). Without an entry, the list price is the product's own
column (`list_price_cny` / `list_price_hkd`) and a tier's price is that list price less the tier's discount
(`TIER_DISCOUNTS`).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import or_, select
from sqlmodel import Session

from retail import errors, parsing
from retail.models import PriceEntry, Product, User
from retail.services import audit
from retail.services.verbs import NETWORK, query, verb

LIST = "list"
TIER_DISCOUNTS = {"A": Decimal("0.40"), "B": Decimal("0.35"), "C": Decimal("0.30")}  # off the list price
PRICE_LISTS = (LIST, *TIER_DISCOUNTS)
CURRENCIES = ("CNY", "HKD")
CENT = Decimal("0.01")


def cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _check(price_list: str, currency: str) -> None:
    if price_list not in PRICE_LISTS:
        raise errors.InvalidValue(field="price list", value=str(price_list)[:16])
    if currency not in CURRENCIES:
        raise errors.InvalidValue(field="currency", value=str(currency)[:8])


@query
def prices_in_force(session: Session, *, product_ids: Iterable[int], price_list: str, currency: str,
                    day: date) -> dict[int, Decimal]:
    """product id -> the price in force on `day` in `price_list` and `currency` (one query for the entries,
    one for the products' own list prices when an entry is missing)."""
    _check(price_list, currency)
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    p = PriceEntry.__table__.c
    rows = session.execute(
        select(p.product_id, p.amount).where(
            p.product_id.in_(ids), p.price_list == price_list, p.currency == currency, p.valid_from <= day,
            or_(p.valid_to.is_(None), p.valid_to >= day))
        .order_by(p.product_id, p.promotion.desc(), p.valid_from.desc(), p.id.desc())).all()
    found: dict[int, Decimal] = {}
    for product_id, amount in rows:
        found.setdefault(product_id, cents(amount))
    missing = [i for i in ids if i not in found]
    if missing:
        column = Product.list_price_hkd if currency == "HKD" else Product.list_price_cny
        listed = dict(session.execute(select(Product.id, column).where(Product.id.in_(missing))).all())
        if price_list != LIST:  # a tier without its own entry: the list price in force less the tier's discount
            in_force = prices_in_force(session, product_ids=missing, price_list=LIST, currency=currency, day=day)
            for product_id, amount in in_force.items():
                found[product_id] = cents(amount * (1 - TIER_DISCOUNTS[price_list]))
        else:
            for product_id, amount in listed.items():
                found[product_id] = cents(amount)
    return found


@query
def price_in_force(session: Session, *, product_id: int, price_list: str, currency: str, day: date) -> Decimal:
    found = prices_in_force(session, product_ids=[product_id], price_list=price_list, currency=currency, day=day)
    if product_id not in found:
        raise errors.NotFound(what="Product", key=product_id)
    return found[product_id]


@verb(NETWORK)
def add_price(session: Session, actor: User, *, sku: str, price_list: str, currency: str, amount, valid_from: date,
              valid_to: date | None = None, promotion: bool = False) -> PriceEntry:
    """Add a price (a planner or admin). The same entry added again is returned, not repeated."""
    _check(price_list, currency)
    amount = parsing.money(amount, field="price", required=True)
    if not isinstance(valid_from, date) or (valid_to is not None and (not isinstance(valid_to, date)
                                                                       or valid_to < valid_from)):
        raise errors.DateRangeInvalid(start=valid_from, end=valid_to, max_days=36500)
    product = session.execute(select(Product).where(Product.sku == sku)).scalars().first()
    if product is None:
        raise errors.UnknownProduct(sku=sku)
    same = session.execute(select(PriceEntry).where(
        PriceEntry.product_id == product.id, PriceEntry.price_list == price_list, PriceEntry.currency == currency,
        PriceEntry.valid_from == valid_from, PriceEntry.promotion == bool(promotion),
        PriceEntry.amount == amount)).scalars().first()
    if same is not None and same.valid_to == valid_to:
        return same
    entry = PriceEntry(product_id=product.id, price_list=price_list, currency=currency, amount=amount,
                       valid_from=valid_from, valid_to=valid_to, promotion=bool(promotion), created_by=actor.id)
    session.add(entry)
    session.flush()
    audit.record(session, actor_id=actor.id, action="price.added", entity="price_entry", entity_id=entry.id,
                 detail={"sku": sku, "list": price_list, "currency": currency, "amount": str(amount),
                         "from": str(valid_from), "to": str(valid_to) if valid_to else None,
                         "promotion": bool(promotion)})
    return entry


@query
def recent_entries(session: Session, *, limit: int = 50) -> list[tuple[PriceEntry, str]]:
    """The latest price entries with their SKU, newest first (the planners' price page)."""
    return list(session.execute(select(PriceEntry, Product.sku).join(Product, Product.id == PriceEntry.product_id)
                                .order_by(PriceEntry.id.desc()).limit(limit)).all())
