"""The outbox refuses a second row for the same person, kind and week at the database itself."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

import retail.models  # noqa: F401 - registers every table
from retail.models import EmailOutbox, User


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
