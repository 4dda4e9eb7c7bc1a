"""Business verbs that change stock. The only way stock changes: forms, API and imports call these.

Each verb validates, posts movements through `stock.post_movement`, and commits once.
Quantities are given as positive numbers; the ledger stores them signed.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from retail import errors
from retail.models import Movement, MovementKind, SerialState, StockBalance
from retail.services import audit
from retail.services.stock import (
    check_quantity,
    create_serials,
    location_by_id,
    move_serials,
    normalise_serials,
    post_movement,
    product_by_sku,
)


def _price(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _prepare(session: Session, location_id: int, sku: str, quantity, serials: Sequence[str]):
    """What every verb checks first: a positive quantity, an active location, a known product, and
    one serial per unit for serialised products."""
    quantity = check_quantity(quantity)
    location = location_by_id(session, location_id)
    product = product_by_sku(session, sku)
    return location, product, quantity, normalise_serials(product, quantity, serials)


def record_sale(
    session: Session, *, store_id: int, sku: str, quantity: int = 1, serials: Sequence[str] = (),
    unit_price=None, reference: str | None = None, actor_id: int | None = None, at: datetime | None = None,
    commit: bool = True,
) -> Movement:
    """Sell `quantity` units at a store; serialised SKUs need one in-stock serial per unit."""
    store, product, quantity, serials = _prepare(session, store_id, sku, quantity, serials)
    move_serials(session, product=product, serials=serials, from_location=store,
                 from_states=[SerialState.in_stock], to_location=None, to_state=SerialState.sold)
    price = _price(unit_price if unit_price is not None else (
        product.list_price_hkd if store.currency == "HKD" else product.list_price_cny))
    movement = post_movement(session, location=store, product=product, kind=MovementKind.sale,
                             quantity=-quantity, serials=serials, unit_price=price, currency=store.currency,
                             reference=reference, actor_id=actor_id, at=at)
    if commit:
        session.commit()
    return movement


def record_return(
    session: Session, *, store_id: int, sku: str, quantity: int = 1, serials: Sequence[str] = (),
    unit_price=None, reference: str | None = None, actor_id: int | None = None, at: datetime | None = None,
    commit: bool = True,
) -> Movement:
    """A customer brings units back into the store's sellable stock; serials must have been sold."""
    store, product, quantity, serials = _prepare(session, store_id, sku, quantity, serials)
    move_serials(session, product=product, serials=serials, from_location=None,
                 from_states=[SerialState.sold], to_location=store, to_state=SerialState.in_stock)
    movement = post_movement(session, location=store, product=product, kind=MovementKind.return_,
                             quantity=quantity, serials=serials, unit_price=_price(unit_price),
                             currency=store.currency, reference=reference, actor_id=actor_id, at=at)
    if commit:
        session.commit()
    return movement


def receive_purchase(
    session: Session, *, location_id: int, sku: str, quantity: int, serials: Sequence[str] = (),
    reference: str | None = None, actor_id: int | None = None, at: datetime | None = None, commit: bool = True,
) -> Movement:
    """Goods from a brand arrive at a warehouse or store; serialised units are registered here."""
    location, product, quantity, serials = _prepare(session, location_id, sku, quantity, serials)
    create_serials(session, product=product, serials=serials, location=location, state=SerialState.in_stock)
    movement = post_movement(session, location=location, product=product, kind=MovementKind.receipt,
                             quantity=quantity, serials=serials, reference=reference, actor_id=actor_id, at=at)
    if commit:
        session.commit()
    return movement


def adjust_count(
    session: Session, *, location_id: int, sku: str, counted: int, reason: str, actor_id: int | None = None,
    at: datetime | None = None, commit: bool = True,
) -> Movement | None:
    """Set the sellable stock to what was counted, as an adjustment of the difference (None if none)."""
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise errors.InvalidQuantity(quantity=counted)
    location = location_by_id(session, location_id)
    product = product_by_sku(session, sku)
    balance = session.get(StockBalance, (location.id, product.id), with_for_update=True)
    delta = counted - (balance.on_hand if balance else 0)
    movement = None
    if delta:
        movement = post_movement(session, location=location, product=product,
                                 kind=MovementKind.count_adjustment, quantity=delta, actor_id=actor_id,
                                 note=reason[:240], at=at)
        audit.record(session, actor_id=actor_id, action="stock.count_adjusted", entity="stock_balance",
                     entity_id=f"{location.code}/{product.sku}", detail={"counted": counted, "delta": delta,
                                                                         "reason": reason})
    if commit:
        session.commit()
    return movement


def write_off(
    session: Session, *, location_id: int, sku: str, quantity: int, reason: str, serials: Sequence[str] = (),
    actor_id: int | None = None, at: datetime | None = None, commit: bool = True,
) -> Movement:
    """Remove damaged or lost units from sellable stock."""
    location, product, quantity, serials = _prepare(session, location_id, sku, quantity, serials)
    move_serials(session, product=product, serials=serials, from_location=location,
                 from_states=[SerialState.in_stock], to_location=location, to_state=SerialState.written_off)
    movement = post_movement(session, location=location, product=product, kind=MovementKind.write_off,
                             quantity=-quantity, serials=serials, actor_id=actor_id, note=reason[:240], at=at)
    if commit:
        session.commit()
    return movement


def move_demo(
    session: Session, *, store_id: int, sku: str, quantity: int, to_display: bool, serials: Sequence[str] = (),
    actor_id: int | None = None, at: datetime | None = None, commit: bool = True,
) -> Movement:
    """Put units on display as demo units (not sellable) or take them back into sellable stock."""
    store, product, quantity, serials = _prepare(session, store_id, sku, quantity, serials)
    if to_display:
        move_serials(session, product=product, serials=serials, from_location=store,
                     from_states=[SerialState.in_stock], to_location=store, to_state=SerialState.demo)
        kind, on_hand, demo = MovementKind.demo_out, -quantity, quantity
    else:
        move_serials(session, product=product, serials=serials, from_location=store,
                     from_states=[SerialState.demo], to_location=store, to_state=SerialState.in_stock)
        kind, on_hand, demo = MovementKind.demo_in, quantity, -quantity
    movement = post_movement(session, location=store, product=product, kind=kind, quantity=on_hand, demo=demo,
                             serials=serials, actor_id=actor_id, at=at)
    if commit:
        session.commit()
    return movement
