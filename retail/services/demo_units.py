"""Demo units: stock put on display (not sellable) and taken back into sellable stock."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from retail import errors
from retail.models import Movement, Product, SerialState, SerialUnit, User
from retail.services import ledger
from retail.services.ledger.postings import clean_serials
from retail.services.verbs import STORE, verb


@verb(STORE)
def move(session: Session, actor: User, *, store_id: int, sku: str, to_display: bool,
         quantity: int | None = None, serials: Sequence[str] | str = (), at: datetime | None = None) -> Movement:
    """Put units on display or back on sale; the quantity defaults to the serials scanned (else one)."""
    serials = clean_serials(serials)
    if not (sku or "").strip():  # only serials scanned: the SKU is the first unit's, as at the till
        if not serials:
            raise errors.MissingValue(field="sku")
        unit = session.get(SerialUnit, serials[0])
        wanted = SerialState.in_stock if to_display else SerialState.demo
        if unit is None or unit.location_id != store_id or unit.state != wanted:
            raise errors.SerialNotHere(serial=serials[0])
        sku = session.get(Product, unit.product_id).sku
    if quantity is None:
        quantity = len(serials) or 1
    return ledger.move_demo(session, store_id=store_id, sku=sku, quantity=quantity, to_display=to_display,
                            serials=serials, actor_id=actor.id, at=at)
