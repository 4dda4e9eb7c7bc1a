"""Time the planners' dashboard of the whole demo network on the server (issue 16: target under 500 ms).

    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/dash_bench
    psql -h 127.0.0.1 -U postgres -c "create database dash_bench"
    .venv/bin/flask --app wsgi db upgrade && .venv/bin/flask --app wsgi demo load      # 3,000 stores
    .venv/bin/flask --app wsgi forecast run && .venv/bin/flask --app wsgi replenish plan
    .venv/bin/python scripts/bench_dashboard.py [--refresh] [--repeat 7]
    psql -h 127.0.0.1 -U postgres -c "drop database dash_bench"

`--refresh` first runs the weekly job (`dashboard.refresh`, as `flask --app wsgi dashboard refresh`) and times
it. Then a planner of the demo world signs in through the sign-in form of an in-process app (Flask's test
client: no network, no browser) and each page is requested `--repeat` times; the time printed is the
server's, from the request's arrival to the response's last byte (median and worst), next to the target.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from retail import create_app  # noqa: E402
from retail.config import Settings  # noqa: E402
from retail.db import new_session  # noqa: E402
from retail.models import DashboardWeek, Location, TransferProposal  # noqa: E402
from retail.services import dashboard  # noqa: E402

TARGET_MS = 500.0
PASSWORD = "demo-glasses-2026"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true", help="run the weekly job first, timed")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--planner", default="planner1@example.com")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("set DATABASE_URL to the demo world's database (see this script's docstring)")
    app = create_app(Settings(database_url=url, redis_url=None))
    engine = app.extensions["engine"]
    with new_session(engine) as session:
        stores = session.execute(select(func.count()).select_from(Location).where(Location.kind == "store")).scalar()
        if args.refresh or not session.execute(select(func.count()).select_from(DashboardWeek)).scalar():
            began = time.perf_counter()
            report = dashboard.refresh(session)
            print(f"weekly job (dashboard refresh): {time.perf_counter() - began:.1f} s, {report['rows']:,} rows "
                  f"from {report['panel_rows']:,} store x SKU weeks")
        rows = session.execute(select(func.count()).select_from(DashboardWeek)).scalar()
        top = session.execute(select(DashboardWeek.brand_id, DashboardWeek.label, DashboardWeek.location_id)
                              .where(DashboardWeek.segment == "brand_store")
                              .order_by(DashboardWeek.sold_units.desc()).limit(1)).first()
        proposal = session.execute(select(TransferProposal.from_location_id, TransferProposal.product_id)
                                   .limit(1)).first()
    print(f"{url.split('@')[-1]}: {stores:,} stores, {rows:,} dashboard rows, dialect {engine.dialect.name}")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed = client.post("/login", data={"email": args.planner, "password": PASSWORD, "csrf_token": token})
    if signed.status_code != 302:
        sys.exit(f"sign-in as {args.planner} refused ({signed.status_code})")
    brand_id, province, store_id = top
    pages = [("network dashboard", "/network/"), ("brand", f"/network/brands/{brand_id}"),
             ("brand x province", f"/network/brands/{brand_id}/provinces/{province}"),
             ("brand x store (live SKUs)", f"/network/brands/{brand_id}/stores/{store_id}"),
             ("forecast accuracy", "/network/accuracy"), ("actions", "/network/actions"),
             ("network CSV (brands)", "/network/?csv=brand")]
    if proposal:
        pages.append(("store x SKU (live)", f"/network/stores/{proposal[0]}/skus/{proposal[1]}"))
    print(f"{'page':28} {'median ms':>10} {'worst ms':>9}  target")
    verdict = None
    for name, path in pages:
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            response = client.get(path)
            response.get_data()
            times.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                sys.exit(f"{path}: {response.status_code}")
        median = statistics.median(times)
        mark = f"< {TARGET_MS:.0f} ms {'yes' if median < TARGET_MS else 'NO'}" if name == "network dashboard" else ""
        if name == "network dashboard":
            verdict = median
        print(f"{name:28} {median:10.0f} {max(times):9.0f}  {mark}")
    print(f"network dashboard, server render: {verdict:.0f} ms median (target {TARGET_MS:.0f} ms)")


if __name__ == "__main__":
    main()
