"""Settle the whole demo network for one month, and time it (issue 15: target under 30 s).

    DATABASE_URL=sqlite:////tmp/settle.db .venv/bin/flask --app wsgi db upgrade
    DATABASE_URL=sqlite:////tmp/settle.db .venv/bin/flask --app wsgi demo load      # 3,000 stores
    DATABASE_URL=sqlite:////tmp/settle.db .venv/bin/python scripts/bench_settlement.py [--month 2026-10]

Stores without an agreement get their default one first (`agreements.default_agreements`, as
`flask settlement agreements`). Statements are immutable, so the timed run works on a copy of the database
(SQLite: a copy of the file, in which the month's statements and later ones, such as those `demo load` issues
for the last two months, are deleted first; another DATABASE_URL is used as it is, and a month already issued
there times the re-run only). It times the month's run (`settlement.run_month`, as `flask settlement run`), then a re-run
(which must issue nothing), and prints both next to the target.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from retail.db import make_engine, new_session  # noqa: E402
from retail.models import Location, Movement, Statement  # noqa: E402
from retail.services import agreements, settlement  # noqa: E402

TARGET_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", default=None, help="YYYY-MM (default: the last full month of the ledger)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "sqlite:////tmp/settle.db")
    parsed = make_url(url)
    workdir = copied = None
    if parsed.get_backend_name() == "sqlite":
        source = Path(parsed.database)
        if not source.exists():
            sys.exit(f"{source} does not exist: build the demo world first (see this script's docstring)")
        with closing(sqlite3.connect(source)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        workdir = tempfile.mkdtemp(prefix="bench-settlement-")
        copy = Path(workdir) / "settle.db"
        shutil.copyfile(source, copy)
        url = f"sqlite:///{copy}"
        copied = copy
    engine = make_engine(url)
    try:
        with new_session(engine) as session:
            stores = session.execute(select(func.count()).select_from(Location).where(Location.kind == "store")).scalar_one()
            last = session.execute(select(func.max(Movement.ts))).scalar_one()
            # Default: the last month that is over in the ledger (the month before its last movement's).
            month = settlement.parse_month(args.month) if args.month else settlement.month_of(
                date(last.year, last.month, 1) - timedelta(days=1))
            made = agreements.default_agreements(session, valid_from=date(2023, 1, 1))
        if copied is not None:  # the copy only: `demo load` issued the last two months; time the month afresh
            with closing(sqlite3.connect(copied)) as connection, connection:
                connection.execute("DELETE FROM statement WHERE month >= ?", (month.isoformat(),))
        with new_session(engine) as session:
            movements = session.execute(select(func.count()).select_from(Movement).where(
                Movement.ts >= settlement.bounds(month, "Asia/Shanghai")[0],
                Movement.ts < settlement.bounds(month, "Asia/Shanghai")[1],
                Movement.kind.in_(settlement.LEDGER_KINDS))).scalar_one()
        print(f"{stores} stores ({made} default agreements created), month {month:%Y-%m}: "
              f"{movements} sales, returns and count adjustments")
        with new_session(engine) as session:
            started = time.perf_counter()
            report = settlement.run_month(session, month=month)
            first = time.perf_counter() - started
        with new_session(engine) as session:
            started = time.perf_counter()
            again = settlement.run_month(session, month=month)
            second = time.perf_counter() - started
            count = session.execute(select(func.count()).select_from(Statement).where(
                Statement.month == month)).scalar_one()
        print(f"run:    {first:6.2f} s  ({report.issued} statements issued, {report.adjustments} adjusting, "
              f"{report.already} already issued)   target < {TARGET_SECONDS:.0f} s: "
              f"{'met' if first < TARGET_SECONDS else 'MISSED'}")
        print(f"re-run: {second:6.2f} s  ({again.issued} issued, {again.adjustments} adjusting: "
              f"{'nothing changed' if again.issued == again.adjustments == 0 else 'CHANGED'}); "
              f"{count} statements for the month")
    finally:
        engine.dispose()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
