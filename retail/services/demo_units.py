"""Demo units: stock put on display (not sellable) and taken back into sellable stock."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from retail.models import Movement, User
from retail.services import ledger
from retail.services.ledger.postings import clean_serials
from retail.services.verbs import STORE, verb


@verb(STORE)
def move(session: Session, actor: User, *, store_id: int, sku: str, to_display: bool,
         quantity: int | None = None, serials: Sequence[str] | str = (), at: datetime | None = None) -> Movement:
    """Put units on display or back on sale; the quantity defaults to the serials scanned (else one)."""
    serials = clean_serials(serials)
    if quantity is None:
        quantity = len(serials) or 1
    return ledger.move_demo(session, store_id=store_id, sku=sku, quantity=quantity, to_display=to_display,
                            serials=serials, actor_id=actor.id, at=at)
