"""The database itself refuses an unknown state and an unbounded quantity."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

import retail.models  # noqa: F401 - registers every table
from retail.models import CustomerOrder
from tests.factories import small_world


@pytest.mark.parametrize("values", [{"state": "lost"}, {"quantity": 6}, {"quantity": 0}, {"deposit": Decimal("-1")},
                                    {"fulfilment": "drone"}])
def test_the_database_refuses_what_the_service_refuses(session, values):
    w = small_world(session)
    row = dict(store_id=w["a"].id, product_id=w["glasses"].id, quantity=1, state="placed", currency="CNY",
               unit_price=Decimal("2999"), deposit=Decimal("0"), promised_date=date(2026, 12, 1),
               fulfilment="pickup", customer_ref="X")
    row.update(values)
    session.add(CustomerOrder(**row))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
