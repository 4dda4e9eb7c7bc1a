"""Preview of a big POS file on SQLite, and what the rest of the network feels meanwhile.

    .venv/bin/python scripts/bench_pos_preview.py [--rows 4900] [--db /tmp/bench-pos.db]

Builds a fresh SQLite database (the migrations; two stores with stock, a staff account in each), writes a
till export of `--rows` rows (about 1 KB a row, ~5 MB: sales of a serialised SKU with four serials and of a
case, a description column as real exports have), then:

- one process (a gunicorn worker) signs in as the staff of store A and posts the file to the preview;
- this process (another worker) signs in as the staff of store B and reads B's home page over and over
  while the preview runs, and records one sale at B in the middle of it.

Prints the preview's time, the home page latency before and during the preview (median, p95, max) and the
sale's latency, each with its target; exits 1 when a figure misses its target. The issue measured 17-20 s
for the preview and 14-17 s for every page of every store meanwhile (every transaction began with
BEGIN IMMEDIATE, reads included).
"""
from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = {
    "preview_s": 20.0,        # a 4,900-row file previews within 20 s (the issue: 17-20 s)
    "home_during_max_s": 1.0,  # no page of another store waits a second for it (the issue: 14-17 s)
    "home_during_p95_s": 0.5,
}
PASSWORD = "bench-password-123"
SERIALS_PER_ROW = 4


def _app(url: str):
    from retail import create_app
    from retail.config import Settings

    return create_app(Settings(env="test", database_url=url, redis_url=None, log_level="WARNING"))


def _signed_in(app, email: str):
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def _token(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def build(url: str, rows: int) -> tuple[dict, bytes]:
    """The database and the file."""
    from retail.db import make_engine, new_session
    from retail.migrate import upgrade
    from retail.models import Brand, Location, Product, User
    from retail.services import accounts
    from retail.services.ledger import moves

    upgrade(url)
    engine = make_engine(url)
    serialised_rows = rows // 2
    with new_session(engine) as session:
        brand = Brand(code="BENCH", name="Bench", name_zh="基准", lead_time_days=14, moq=10)
        session.add(brand)
        session.flush()
        glasses = Product(sku="BN-GLASS", brand_id=brand.id, model="Bench glasses", variant="black", category="ar",
                          barcode="6970000009999", list_price_cny=Decimal("2999"), list_price_hkd=Decimal("3299"),
                          wholesale_cost=Decimal("2100"), serialised=True, launch_date=date(2025, 3, 1))
        case = Product(sku="BN-CASE", brand_id=brand.id, model="Bench case", variant="", category="ar",
                       barcode="6970000009998", list_price_cny=Decimal("199"), list_price_hkd=Decimal("219"),
                       wholesale_cost=Decimal("90"), serialised=False, launch_date=date(2025, 3, 1))
        dc = Location(code="DC-BN", kind="dc", name="Bench DC", city="Shanghai")
        session.add_all([glasses, case, dc])
        session.flush()
        a = Location(code="S9001", name="基准店 A", city="Shanghai", province="Shanghai", city_tier=1, dc_id=dc.id)
        b = Location(code="S9002", name="基准店 B", city="Shanghai", province="Shanghai", city_tier=1, dc_id=dc.id)
        session.add_all([a, b])
        session.flush()
        password_hash = accounts.hash_password(PASSWORD)
        session.add_all([User(email="a@bench.example.com", name="A", role="store_staff", store_id=a.id,
                              password_hash=password_hash),
                         User(email="b@bench.example.com", name="B", role="store_staff", store_id=b.id,
                              password_hash=password_hash)])
        session.commit()
        earlier = datetime.now(UTC) - timedelta(days=60)
        serials = [f"BN{i:08d}-{'X' * 8}" for i in range(serialised_rows * SERIALS_PER_ROW)]
        moves.receive_purchase(session, location_id=a.id, sku="BN-GLASS", quantity=len(serials), serials=serials,
                               at=earlier)
        moves.receive_purchase(session, location_id=a.id, sku="BN-CASE", quantity=rows, at=earlier)
        moves.receive_purchase(session, location_id=b.id, sku="BN-CASE", quantity=1000, at=earlier)
        session.commit()
        for day in range(30):  # some history for B's home page
            moves.record_sale(session, store_id=b.id, sku="BN-CASE", quantity=2, at=earlier + timedelta(days=day))
        session.commit()
        world = {"a": a.id, "b": b.id}
    engine.dispose()

    out = io.StringIO()
    out.write("date,sku,quantity,serials,unit_price,type,receipt,description\r\n")
    start = datetime.now() - timedelta(days=20)
    padding = "Bench glasses, black, with case and cable; customer asked for an invoice. " * 12
    for i in range(rows):
        at = start + timedelta(seconds=300 * i)
        if i < serialised_rows:
            row_serials = " ".join(serials[i * SERIALS_PER_ROW:(i + 1) * SERIALS_PER_ROW])
            out.write(f"{at:%Y-%m-%d %H:%M},BN-GLASS,{SERIALS_PER_ROW},{row_serials},2899.00,sale,R-{i:06d},"
                      f"\"{padding}\"\r\n")
        else:
            out.write(f"{at:%Y-%m-%d %H:%M},BN-CASE,1,,189.00,sale,R-{i:06d},\"{padding}\"\r\n")
    return world, out.getvalue().encode()


def _preview(url: str, store_id: int, content: bytes, started, done) -> None:
    app = _app(url)
    client = _signed_in(app, "a@bench.example.com")
    token = _token(client, f"/stores/{store_id}/pos/")
    started.set()
    began = time.perf_counter()
    response = client.post(f"/stores/{store_id}/pos/preview", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (io.BytesIO(content), "till.csv")})
    done.put((time.perf_counter() - began, response.status_code,
              re.findall(r'class="sub">([^<]*)<', response.get_data(as_text=True))[:1]))


FAILED_READS: list[str] = []


def _timed(client, path: str) -> float:
    """Seconds to read the page; a read that fails (database is locked) is counted and noted."""
    began = time.perf_counter()
    try:
        response = client.get(path)
        if response.status_code != 200:
            FAILED_READS.append(f"HTTP {response.status_code}")
    except Exception as exc:  # noqa: BLE001 - a bench reports what the page would have shown
        FAILED_READS.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}")
    return time.perf_counter() - began


def _summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (f"median {statistics.median(ordered) * 1000:7.0f} ms  p95 {p95 * 1000:7.0f} ms  "
            f"max {ordered[-1] * 1000:7.0f} ms  ({len(ordered)} reads)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4900)
    parser.add_argument("--db", help="SQLite file to build (default: a temporary one)")
    args = parser.parse_args()
    path = Path(args.db) if args.db else Path(tempfile.mkdtemp(prefix="bench-pos-")) / "bench.db"
    if path.exists():
        path.unlink()
    url = f"sqlite:///{path}"
    print(f"building {path} and a {args.rows}-row file ...", flush=True)
    world, content = build(url, args.rows)
    print(f"file: {args.rows} rows, {len(content) / 1e6:.1f} MB", flush=True)

    app = _app(url)
    reader = _signed_in(app, "b@bench.example.com")
    home = f"/stores/{world['b']}"
    for _ in range(3):
        _timed(reader, home)
    before = [_timed(reader, home) for _ in range(20)]

    seller = _signed_in(app, "b@bench.example.com")  # the till of store B: its own client, its own thread
    token = _token(seller, f"/stores/{world['b']}/sale")  # taken now: the sale below times the write alone
    sale_latency: list = []

    def sell() -> None:
        sold = time.perf_counter()
        try:
            response = seller.post(f"/stores/{world['b']}/sale",
                                   data={"sku": "BN-CASE", "quantity": "1", "csrf_token": token})
            status = f"HTTP {response.status_code}"
        except Exception as exc:  # noqa: BLE001 - a bench reports what the till would have shown
            status = f"{type(exc).__name__}: {str(exc).splitlines()[0][:60]}"
        sale_latency.extend([time.perf_counter() - sold, status])

    context = multiprocessing.get_context("spawn")
    started, done = context.Event(), context.Queue()
    worker = context.Process(target=_preview, args=(url, world["a"], content, started, done))
    worker.start()
    started.wait()
    during, till, began = [], None, time.perf_counter()
    while done.empty() and worker.is_alive():
        during.append(_timed(reader, home))
        if till is None and time.perf_counter() - began > 2:
            till = threading.Thread(target=sell)
            till.start()
        time.sleep(0.05)
    preview_s, status, summary = done.get(timeout=600)
    worker.join()
    if till is not None:
        till.join()

    print(f"preview of {args.rows} rows: {preview_s:6.1f} s  (HTTP {status}, {' '.join(summary)})  "
          f"target < {TARGETS['preview_s']:.0f} s")
    print(f"home page of store B before : {_summary(before)}")
    print(f"home page of store B during : {_summary(during)}  target p95 < {TARGETS['home_during_p95_s']} s, "
          f"max < {TARGETS['home_during_max_s']} s")
    if FAILED_READS:
        print(f"failed reads: {len(FAILED_READS)} ({FAILED_READS[0]})")
    if sale_latency:
        print(f"a sale at store B during    : {sale_latency[0] * 1000:7.0f} ms  ({sale_latency[1]}; no target: SQLite "
              "has one writer, so it waits for A's dry run, up to the 30 s busy timeout)")
    print("load average (1, 5, 15 min): " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    ordered = sorted(during) or [0.0]
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    missed = [name for name, value in (("preview_s", preview_s), ("home_during_max_s", ordered[-1]),
                                       ("home_during_p95_s", p95)) if value >= TARGETS[name]] + (["reads"] if FAILED_READS else [])
    print("targets: " + ("all met" if not missed else "MISSED " + ", ".join(missed)))
    app.extensions["engine"].dispose()
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
