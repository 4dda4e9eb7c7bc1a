"""The ledger's stock moves: sale, return, receipt, count adjustment, write-off, demo units.

Primitives, not verbs: each validates its stock rules and posts movements through
`stock.post_movement` inside the caller's transaction, and never commits. Only the verbs of the
service layer call them (they check the actor and own the transaction); adapters never do.
Quantities are given as positive numbers; the ledger stores them signed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from retail import errors
from retail.models import Location, Movement, MovementKind, Product, SerialState, StockBalance
from retail.services import audit
from retail.services.ledger.postings import (
    check_quantity,
    create_serials,
    last_movement_of_serial,
    last_sale_of_serial,
    location_by_id,
    move_serials,
    normalise_serials,
    post_movement,
    product_by_sku,
    serial_rows,
    serials_at,
)

# How many serials an error names before it says "and N more" (a whole shelf may be scanned wrong).
NAMED_SERIALS = 10


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
    return movement


def _check_sold_here(session: Session, store: Location, product: Product, serials: Sequence[str]) -> None:
    """A serialised unit comes back only to the store whose sale sold it (its latest recorded sale). Any other
    serial (sold by another store, in stock anywhere, unknown, of another SKU) is the one refusal
    SerialNotHere, naming only the serial: a store learns nothing of units outside its own stock and sales."""
    rows = serial_rows(session, serials)
    for serial in serials:
        row = rows.get(serial)
        sale = (last_sale_of_serial(session, serial) if row is not None and row.product_id == product.id
                and row.state == SerialState.sold else None)
        if sale is None or sale.location_id != store.id:
            raise errors.SerialNotHere(serial=serial)


def record_return(
    session: Session, *, store_id: int, sku: str, quantity: int = 1, serials: Sequence[str] = (),
    unit_price=None, reference: str | None = None, actor_id: int | None = None, at: datetime | None = None,
) -> Movement:
    """A customer brings units back into the store's sellable stock; each serial must have been sold at
    this store (SerialNotHere otherwise), whatever adapter takes the return."""
    store, product, quantity, serials = _prepare(session, store_id, sku, quantity, serials)
    _check_sold_here(session, store, product, serials)
    move_serials(session, product=product, serials=serials, from_location=None,
                 from_states=[SerialState.sold], to_location=store, to_state=SerialState.in_stock)
    movement = post_movement(session, location=store, product=product, kind=MovementKind.return_,
                             quantity=quantity, serials=serials, unit_price=_price(unit_price),
                             currency=store.currency, reference=reference, actor_id=actor_id, at=at)
    return movement


def receive_purchase(
    session: Session, *, location_id: int, sku: str, quantity: int, serials: Sequence[str] = (),
    reference: str | None = None, actor_id: int | None = None, at: datetime | None = None,
) -> Movement:
    """Goods from a brand arrive at a warehouse or store; serialised units are registered here."""
    location, product, quantity, serials = _prepare(session, location_id, sku, quantity, serials)
    create_serials(session, product=product, serials=serials, location=location, state=SerialState.in_stock)
    movement = post_movement(session, location=location, product=product, kind=MovementKind.receipt,
                             quantity=quantity, serials=serials, reference=reference, actor_id=actor_id, at=at)
    return movement


@dataclass(frozen=True)
class SerialCount:
    """What a count by serial found, compared with the register of the location's sellable units."""

    scanned: list[str]  # the serials found on the shelf, as scanned (duplicates dropped)
    missing: list[str]  # in stock according to the register, not scanned: they leave sellable stock
    found: list[str]  # written off here by an earlier count and scanned again: back in stock


def _named(serials: Sequence[str]) -> str:
    more = len(serials) - NAMED_SERIALS
    return ", ".join(serials[:NAMED_SERIALS]) + (f" (+{more})" if more > 0 else "")


def _lost_in_count_here(session: Session, serial: str, location: Location) -> bool:
    last = last_movement_of_serial(session, serial)
    return last is not None and last.kind == MovementKind.count_adjustment and last.location_id == location.id


def _serial_count(session: Session, location: Location, product: Product, serials: Sequence[str] | None,
                  counted: int | None, *, lock: bool) -> SerialCount:
    if counted is not None and (isinstance(counted, bool) or not isinstance(counted, int) or counted < 0):
        raise errors.InvalidQuantity(quantity=counted)
    if serials is None:
        if counted != 0:
            raise errors.SerialsRequired(sku=product.sku, quantity=counted if counted is not None else 1, given=0)
        serials = ()
    scanned: list[str] = []
    for serial in serials:
        serial = (serial or "").strip()
        if serial and serial not in scanned:
            scanned.append(serial)
    if counted is not None and counted != len(scanned):
        raise errors.SerialsRequired(sku=product.sku, quantity=counted, given=len(scanned))
    register = serials_at(session, location=location, product=product, states=[SerialState.in_stock], lock=lock)
    held, seen = set(register), set(scanned)
    others = [s for s in scanned if s not in held]
    rows = serial_rows(session, others)
    found = [s for s in others if (row := rows.get(s)) is not None and row.product_id == product.id
             and row.location_id == location.id and row.state == SerialState.written_off
             and _lost_in_count_here(session, s, location)]
    foreign = [s for s in others if s not in found]
    if foreign:
        raise errors.CountedSerialsNotHere(serials=_named(foreign), sku=product.sku, location=location.code,
                                           count=len(foreign))
    return SerialCount(scanned=scanned, missing=[s for s in register if s not in seen], found=found)


def check_serial_count(session: Session, *, location_id: int, sku: str, serials: Sequence[str] | None,
                       counted: int | None = None, lock: bool = False) -> SerialCount:
    """Compare a count by serial with the register without changing anything: the same checks as
    `adjust_count` (a count held for approval is refused at once, not when the manager decides).
    `lock` takes the row locks of the units in stock here (to the end of the transaction), in the order
    every verb takes them: serial units before the balance row."""
    location = location_by_id(session, location_id)
    product = product_by_sku(session, sku)
    if not product.serialised:
        return SerialCount(scanned=[], missing=[], found=[])
    return _serial_count(session, location, product, serials, counted, lock=lock)


def apply_count_difference(
    session: Session, *, location_id: int, sku: str, difference: int, reason: str, actor_id: int | None = None,
    at: datetime | None = None,
) -> list[Movement]:
    """Apply a counted difference (`counted - expected` of a count held for approval) to the stock of now,
    once, as one `count_adjustment` movement (none if it is 0). Products without serials.

    A delta, never an absolute value: the balance row is read under its lock and changed through the
    ledger's conditional update (`on_hand + delta >= 0`), so a sale or a receipt committed since the count,
    or while it is approved, is kept. Units missing beyond what is on hand now (sold since the count) take
    the stock to zero, not below."""
    location = location_by_id(session, location_id)
    product = product_by_sku(session, sku)
    if product.serialised:
        raise errors.SerialsRequired(sku=product.sku, quantity=abs(difference), given=0)
    if isinstance(difference, bool) or not isinstance(difference, int):
        raise errors.InvalidQuantity(quantity=difference)
    balance = session.get(StockBalance, (location.id, product.id), with_for_update=True, populate_existing=True)
    on_hand = balance.on_hand if balance else 0
    delta = max(difference, -on_hand)
    if not delta:
        return []
    movement = post_movement(session, location=location, product=product, kind=MovementKind.count_adjustment,
                             quantity=delta, actor_id=actor_id, note=reason[:240], at=at)
    audit.record(session, actor_id=actor_id, action="stock.count_adjusted", entity="stock_balance",
                 entity_id=f"{location.code}/{product.sku}",
                 detail={"counted": on_hand + delta, "delta": delta, "difference": difference, "reason": reason})
    return [movement]


def adjust_count(
    session: Session, *, location_id: int, sku: str, counted: int | None = None, reason: str,
    serials: Sequence[str] | None = None, actor_id: int | None = None, at: datetime | None = None,
) -> list[Movement]:
    """Set the sellable stock to what was counted, as `count_adjustment` movements (none if it agrees).

    Products without serials: `counted` units; the difference is one movement.
    Serialised products: `serials` lists every unit found (scanned) on the shelf; `counted`, if given, must
    be their number. Units in stock here but not scanned become `written_off` (lost at a count, linked to a
    negative adjustment); units written off here by an earlier count and scanned again come back
    `in_stock`; a scanned serial that the register has elsewhere, sold, on display or not at all refuses
    the whole count (CountedSerialsNotHere names them). The balance ends equal to the units in stock here.
    The count states the shelf, not a change: repeating the same count moves nothing."""
    location = location_by_id(session, location_id)
    product = product_by_sku(session, sku)
    if not product.serialised:
        if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
            raise errors.InvalidQuantity(quantity=counted)
        balance = session.get(StockBalance, (location.id, product.id), with_for_update=True,
                              populate_existing=True)
        delta = counted - (balance.on_hand if balance else 0)
        movements = []
        if delta:
            movements.append(post_movement(session, location=location, product=product,
                                           kind=MovementKind.count_adjustment, quantity=delta, actor_id=actor_id,
                                           note=reason[:240], at=at))
            audit.record(session, actor_id=actor_id, action="stock.count_adjusted", entity="stock_balance",
                         entity_id=f"{location.code}/{product.sku}", detail={"counted": counted, "delta": delta,
                                                                             "reason": reason})
        return movements

    # Locks in the order of every other verb: the serial units first, then the balance row.
    shelf = _serial_count(session, location, product, serials, counted, lock=True)
    balance = session.get(StockBalance, (location.id, product.id), with_for_update=True, populate_existing=True)
    on_hand = balance.on_hand if balance else 0
    in_stock_before = len(shelf.scanned) - len(shelf.found) + len(shelf.missing)
    drift = in_stock_before - on_hand  # the balance disagreed with the register before the count
    move_serials(session, product=product, serials=shelf.missing, from_location=location,
                 from_states=[SerialState.in_stock], to_location=location, to_state=SerialState.written_off)
    move_serials(session, product=product, serials=shelf.found, from_location=location,
                 from_states=[SerialState.written_off], to_location=location, to_state=SerialState.in_stock)
    note = reason[:240]
    # Increases first, so that no step takes the balance below zero; each serial-linked movement moves
    # exactly its serials, and a disagreement of balance and register is a movement of its own.
    steps = [(len(shelf.found), shelf.found, note), (drift, (), f"balance to the serial register: {reason}"[:240]),
             (-len(shelf.missing), shelf.missing, note)]
    movements = [post_movement(session, location=location, product=product, kind=MovementKind.count_adjustment,
                               quantity=quantity, serials=linked, actor_id=actor_id, note=text, at=at)
                 for quantity, linked, text in sorted(steps, key=lambda step: -step[0]) if quantity]
    if movements:
        audit.record(session, actor_id=actor_id, action="stock.count_adjusted", entity="stock_balance",
                     entity_id=f"{location.code}/{product.sku}",
                     detail={"counted": len(shelf.scanned), "delta": len(shelf.scanned) - on_hand, "reason": reason,
                             "missing": shelf.missing, "found": shelf.found})
    return movements


def write_off(
    session: Session, *, location_id: int, sku: str, quantity: int, reason: str, serials: Sequence[str] = (),
    actor_id: int | None = None, at: datetime | None = None,
) -> Movement:
    """Remove damaged or lost units from sellable stock."""
    location, product, quantity, serials = _prepare(session, location_id, sku, quantity, serials)
    move_serials(session, product=product, serials=serials, from_location=location,
                 from_states=[SerialState.in_stock], to_location=location, to_state=SerialState.written_off)
    movement = post_movement(session, location=location, product=product, kind=MovementKind.write_off,
                             quantity=-quantity, serials=serials, actor_id=actor_id, note=reason[:240], at=at)
    return movement


def move_demo(
    session: Session, *, store_id: int, sku: str, quantity: int, to_display: bool, serials: Sequence[str] = (),
    actor_id: int | None = None, at: datetime | None = None,
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
    return movement
