"""Migration 0016 builds exactly what retail/models/customer_orders.py declares, on SQLite and PostgreSQL, and
goes down to 0015 and up again; the database itself refuses an unknown state and an unbounded quantity."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

import retail.models  # noqa: F401 - registers every table
from retail.migrate import alembic_config
from retail.models import CustomerOrder
from tests.factories import small_world

TABLES = {"customer_order", "customer_order_event"}


def _names(diff) -> set[str]:
    found = set()
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item:
            table = getattr(part, "table", None)
            found.add(getattr(table, "name", None) or getattr(part, "name", None))
    return found


def test_migration_matches_the_model_and_goes_down_and_up(engine, database_url):
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert TABLES <= set(engine.dialect.get_table_names(connection))
    assert [d for d in diffs if _names(d) & TABLES] == []
    engine.dispose()
    command.downgrade(alembic_config(database_url), "0015")
    with engine.connect() as connection:
        assert not TABLES & set(engine.dialect.get_table_names(connection))
    engine.dispose()
    command.upgrade(alembic_config(database_url), "head")
    with engine.connect() as connection:
        assert TABLES <= set(engine.dialect.get_table_names(connection))


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
