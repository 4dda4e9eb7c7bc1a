"""Time ranging on the whole demo network (issue 17): the weekly proposal, its re-run, the planners' page, a bulk
answer of 500, and a replenishment plan that follows an approved range.

    export DATABASE_URL=sqlite:////tmp/ranging/world.db          # or a PostgreSQL database
    .venv/bin/flask --app wsgi db upgrade && .venv/bin/flask --app wsgi demo load      # 3,000 stores
    .venv/bin/flask --app wsgi forecast run
    .venv/bin/python scripts/bench_ranging.py

It changes the database (proposals, answers, a plan): run it on a copy. The page is rendered in process (Flask's
test client after the planner's sign-in; the time is the server's). To time a plan with the range in force, the
proposals left after the timed bulk answer are approved by one UPDATE (set-up, not the verb: the verb is timed on
its 500). Figures are printed next to their targets; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, update  # noqa: E402

from retail import create_app  # noqa: E402
from retail.config import Settings  # noqa: E402
from retail.db import new_session  # noqa: E402
from retail.models import Location, RangeLine, StoreRange, SuggestedLine, User  # noqa: E402
from retail.services import forecasts, ranging, replenishment  # noqa: E402

TARGETS = {"propose": 60.0, "propose again": 60.0, "page": 1.0, "answer 500": 10.0, "plan": 120.0}
PASSWORD = "demo-glasses-2026"


def line(name: str, seconds: float, extra: str = "") -> None:
    print(f"{name:<16} {seconds:8.2f} s   target {TARGETS[name]:6.1f} s   {'ok' if seconds <= TARGETS[name] else 'MISSED'}"
          f"   {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planner", default="planner1@example.com")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-plan", action="store_true", help="stop after the bulk answer (no plan)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("set DATABASE_URL to a copy of the demo world's database (see this script's docstring)")
    app = create_app(Settings(database_url=url, redis_url=None))
    engine = app.extensions["engine"]
    with new_session(engine) as session:
        stores = session.execute(select(func.count()).select_from(Location).where(Location.kind == "store")).scalar()
        run = forecasts.latest_run(session)
        if run is None:
            sys.exit("no forecast run: run `flask --app wsgi forecast run` first")
        print(f"{stores:,} stores, forecast run {run.id} ({run.series:,} series) from {run.start_week}")
        began = time.perf_counter()
        done = ranging.propose(session)
        line("propose", time.perf_counter() - began, f"{done.cells:,} cells, {done.changed:,} changes, "
                                                     f"{done.written:,} written; {done.by_decision}")
        began = time.perf_counter()
        again = ranging.propose(session)
        line("propose again", time.perf_counter() - began, f"{again.written:,} written (a re-run writes nothing)")
        planner = session.execute(select(User).where(User.email == args.planner)).scalar_one()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"email": args.planner, "password": PASSWORD, "csrf_token": token})
    times = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        response = client.get("/network/ranging/")
        times.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
    line("page", statistics.median(times), f"median of {args.repeat} (worst {max(times):.2f} s), "
                                           f"{len(response.data) / 1e6:.1f} MB, the first {ranging.PAGE} of the week")
    with new_session(engine) as session:
        ids = list(session.execute(select(StoreRange.id).where(StoreRange.status == "proposed")
                                   .order_by(StoreRange.id).limit(ranging.MAX_BULK)).scalars())
        began = time.perf_counter()
        answered = ranging.decide_proposals(session, planner, proposal_ids=ids, approve=True)
        line("answer 500", time.perf_counter() - began, f"{answered.decided} approved, audited")
        if args.no_plan:
            return
        session.execute(update(StoreRange).where(StoreRange.status == "proposed", StoreRange.week == done.week)
                        .values(status="approved", decided_by=planner.id))
        session.commit()
        began = time.perf_counter()
        plan = replenishment.plan(session, as_of=done.week)
        seconds = time.perf_counter() - began
        kinds = dict(session.execute(select(RangeLine.kind, func.sum(RangeLine.quantity))
                                     .where(RangeLine.run_id == plan.id).group_by(RangeLine.kind)).all())
        demo = session.execute(select(func.count()).select_from(SuggestedLine).where(
            SuggestedLine.run_id == plan.id, SuggestedLine.text == replenishment.DEMO_TEXT)).scalar()
        line("plan", seconds, f"{plan.lines:,} lines ({demo:,} demo units), {plan.units:,} units; range lines "
                              f"(units): {kinds}; {plan.config['ranged_cells']:,} cells ranged")


if __name__ == "__main__":
    main()
