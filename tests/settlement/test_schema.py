"""The database itself refuses a second statement for the same store, month and sequence (an order's one invoice:
tests/settlement/test_orders.py)."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import IntegrityError

import retail.models  # noqa: F401 - registers every table
from retail.models import Statement
from tests.factories import small_world


def test_one_statement_per_store_month_and_sequence(session):
    w = small_world(session)

    def statement(number: str, sequence: int = 1) -> Statement:
        return Statement(number=number, location_id=w["a"].id, month=date(2026, 10, 1), sequence=sequence,
                         reported_in=date(2026, 10, 1), model="franchise", currency="CNY", agreement_versions=[1],
                         totals={}, lines=[], issued_at=datetime(2026, 11, 2, tzinfo=UTC))

    session.add(statement("ST-1"))
    session.commit()
    session.add(statement("ST-2"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.add(statement("ST-2", sequence=2))
    session.commit()
