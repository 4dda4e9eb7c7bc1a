"""Migration 0012 builds exactly what retail/models/outbox.py declares (SQLite and PostgreSQL), and the
outbox refuses a second row for the same person, kind and week at the database itself."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

import retail.models  # noqa: F401 - registers every table
from retail.models import EmailOutbox, User

TABLES = {"email_outbox", "email_opt_out"}


def _ours(diff) -> bool:
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item:
            name = getattr(part, "name", None) or getattr(getattr(part, "table", None), "name", None)
            if name in TABLES or getattr(part, "table", None) is not None and part.table.name in TABLES:
                return True
    return False


def test_migration_matches_the_model(engine):
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert [d for d in diffs if _ours(d)] == []
    with engine.connect() as connection:
        names = set(engine.dialect.get_table_names(connection))
    assert TABLES <= names


def test_one_row_per_person_kind_and_week(session):
    user = User(email="m@example.com", name="M", role="planner")
    session.add(user)
    session.commit()
    session.add(EmailOutbox(user_id=user.id, kind="planner", week="2026-W48", address=user.email))
    session.commit()
    session.add(EmailOutbox(user_id=user.id, kind="planner", week="2026-W48", address=user.email))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.add(EmailOutbox(user_id=user.id, kind="planner", week="2026-W49", address=user.email))
    session.commit()
