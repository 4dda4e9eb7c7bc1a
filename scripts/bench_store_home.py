"""Server-side render time of the store home for a store of the demo world.

    DATABASE_URL=sqlite:///instance/retail.db .venv/bin/python scripts/bench_store_home.py [--store S0001] [--runs 50]

Signs in as the store's manager (the demo password), warms up, then times GET /stores/<id> inside the
process (Flask test client: routing, queries, template; no network). Without --store it picks the store
with the most sales, the heaviest page. Prints median, p95 and max in milliseconds; exits 1 above --target.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from retail import create_app  # noqa: E402
from retail.config import load_settings  # noqa: E402
from retail.db import new_session  # noqa: E402
from retail.demo.load import DEMO_PASSWORD  # noqa: E402
from retail.models import Location, Movement, Role, User  # noqa: E402


def busiest_store(session) -> Location:
    store_id = session.execute(
        select(Movement.location_id).join(Location, Location.id == Movement.location_id)
        .where(Movement.kind == "sale", Location.kind == "store")
        .group_by(Movement.location_id).order_by(func.count().desc()).limit(1)
    ).scalar_one()
    return session.get(Location, store_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="store code (default: the store with the most sales)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--target", type=float, default=100.0, help="median target in ms")
    args = parser.parse_args()

    app = create_app(load_settings(log_level="WARNING"))
    session = new_session(app.extensions["engine"])
    store = (session.execute(select(Location).where(Location.code == args.store)).scalar_one()
             if args.store else busiest_store(session))
    manager = session.execute(select(User).where(User.store_id == store.id, User.role == Role.store_manager)
                              ).scalars().first()
    sales = session.execute(select(func.count()).select_from(Movement).where(
        Movement.location_id == store.id, Movement.kind == "sale")).scalar_one()
    session.close()
    if manager is None:
        print(f"{store.code} has no manager to sign in as: load the demo world first", file=sys.stderr)
        return 2

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in = client.post("/login", data={"email": manager.email, "password": DEMO_PASSWORD, "csrf_token": token})
    if signed_in.status_code != 302:
        print(f"sign-in as {manager.email} failed ({signed_in.status_code})", file=sys.stderr)
        return 2

    path = f"/stores/{store.id}"
    results = {}
    for label, url in (("home", path), ("home with a SKU chart", None)):
        if url is None:
            first_sku = re.search(r'\?sku=([^"&]+)"', client.get(path).get_data(as_text=True))
            if not first_sku:
                continue
            url = f"{path}?sku={first_sku.group(1)}"
        for _ in range(5):  # warm up: templates compiled, connections open
            assert client.get(url).status_code == 200
        timings = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        timings.sort()
        results[label] = timings
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"{store.code} ({sales} sales in the ledger) {label:22s} GET {url}: median {statistics.median(timings):.1f} ms, "
              f"p95 {p95:.1f} ms, max {timings[-1]:.1f} ms over {args.runs} runs")
    worst = max(statistics.median(t) for t in results.values())
    return 0 if worst <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
