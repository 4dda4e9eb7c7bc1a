"""`flask settlement run --month` over a small demo world (whose stores get their agreements from `demo load`),
on SQLite and PostgreSQL: every store gets its statement, a re-run issues nothing, and a month that is not
over or not a month is refused."""
from __future__ import annotations

from sqlalchemy import func, select

from retail.db import new_session
from retail.models import Agreement, Location, Statement
from retail.services import settlement


def test_demo_stores_have_agreements_and_the_month_is_settled_once(app):
    runner = app.test_cli_runner()
    loaded = runner.invoke(args=["demo", "load", "--stores", "12", "--seed", "5"])
    assert loaded.exit_code == 0, loaded.output
    assert "12 store agreements" in loaded.output
    assert "settlement statements: 2026-09 (12), 2026-10 (12)" in loaded.output  # the last two full months
    first = runner.invoke(args=["settlement", "run", "--month", "2026-08"])
    assert first.exit_code == 0, first.output
    assert "12 statements issued, 0 adjusting statements, 0 already issued" in first.output
    again = runner.invoke(args=["settlement", "run", "--month", "2026-10"])
    assert "0 statements issued, 0 adjusting statements, 12 already issued" in again.output
    assert runner.invoke(args=["settlement", "agreements"]).output.startswith("0 agreements created")
    with new_session(app.extensions["engine"]) as session:
        models = dict(session.execute(select(Location.id, Location.partnership).where(Location.kind == "store")).all())
        made = dict(session.execute(select(Agreement.location_id, Agreement.model)).all())
        assert made == models  # franchise or consignment, as each store's partnership
        statements = session.execute(select(Statement)).scalars().all()
        assert len(statements) == 36 and {s.model for s in statements} <= {"franchise", "consignment"}
        sold = sum(s.totals.get("units_sold", 0) for s in statements)
        assert sold > 0  # the consignment stores sold in October
        assert settlement.brand_consignment(session, month=statements[0].month)
        assert session.execute(select(func.count()).select_from(Statement)).scalar_one() == 36


def test_refusals(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["settlement", "run", "--month", "2026-13"]).exit_code == 2
    assert runner.invoke(args=["settlement", "run", "--month", "October"]).exit_code == 2
    runner.invoke(args=["demo", "load", "--stores", "3", "--seed", "5"])
    late = runner.invoke(args=["settlement", "run", "--month", "2099-01"])
    assert late.exit_code == 1 and "is not over yet" in late.output


def test_last_month_is_the_month_before_this_one_in_shanghai(app, monkeypatch):
    from datetime import UTC, datetime

    from retail.cli import settlement as command

    monkeypatch.setattr(command, "utcnow", lambda: datetime(2026, 11, 30, 18, tzinfo=UTC))  # 1 Dec 02:00 Shanghai
    assert command._month("last").isoformat() == "2026-11-01"
    runner = app.test_cli_runner()
    assert "0 statements issued" in runner.invoke(args=["settlement", "run", "--month", "last"]).output
