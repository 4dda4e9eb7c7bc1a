"""Ledger primitives for test set-up, each in its own committed transaction.

The service layer's ledger never commits (the verb that calls it does); tests that build stock
history call it through these, as a verb would, one transaction per call."""
from __future__ import annotations

from types import SimpleNamespace

from retail.services import ledger
from retail.services.ledger import moves
from retail.services.ledger import postings as _stock
from retail.services.ledger import shipments as _shipments


def _committing(function):
    def wrapper(session, *args, **kwargs):
        try:
            result = function(session, *args, **kwargs)
        except BaseException:
            session.rollback()
            raise
        session.commit()
        return result

    wrapper.__name__ = function.__name__
    return wrapper


inventory = SimpleNamespace(
    record_sale=_committing(moves.record_sale), record_return=_committing(moves.record_return),
    receive_purchase=_committing(moves.receive_purchase), adjust_count=_committing(moves.adjust_count),
    write_off=_committing(moves.write_off), move_demo=_committing(moves.move_demo),
    check_serial_count=moves.check_serial_count, location_by_id=_stock.location_by_id,
    product_by_sku=_stock.product_by_sku)
shipments = SimpleNamespace(Line=ledger.Line, ship=_committing(_shipments.ship),
                            receive=_committing(_shipments.receive))
stock = _stock
