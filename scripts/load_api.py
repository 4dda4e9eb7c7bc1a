"""Load on the partner API: requests per second and p50/p99 latency of the stock and forecast lists under
gunicorn on PostgreSQL, with 32 concurrent keep-alive clients, next to a trivial operation of the same app
(`GET /api/v1/me`: the same key check and rate limit, no query) as the ceiling.

    python scripts/load_api.py [--stores 300] [--seconds 15] [--clients 32] [--reuse]

It builds (or with --reuse, keeps) a PostgreSQL database `retail_load` on TEST_POSTGRES_URL's server with the
demo world of --stores stores, its forecast and its replenishment plan, creates a brand key and a store key,
serves the app with gunicorn (WEB_CONCURRENCY workers x GUNICORN_THREADS threads, rate limits in Redis at
REDIS_URL, default redis://127.0.0.1:6379/0), and drives it from one asyncio process (raw HTTP/1.1 with
keep-alive: a few microseconds of client work per request, so the client does not steal the server's CPU).
Targets: p99 under 50 ms; throughput at least half of the ceiling's. Not a test: these machines are shared.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

TARGET_P99_MS = 50.0
TARGET_RATIO = 0.5


def _database(args) -> str:
    admin_url = make_url(args.postgres).set(database="postgres")
    url = make_url(args.postgres).set(database="retail_load").render_as_string(hide_password=False)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = 'retail_load'")).first()
        if exists and not args.reuse:
            connection.execute(text('DROP DATABASE "retail_load" WITH (FORCE)'))
            exists = None
        if not exists:
            connection.execute(text('CREATE DATABASE "retail_load"'))
    admin.dispose()
    if not exists:
        env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development", "LOG_LEVEL": "WARNING"}
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        for step in (["db", "upgrade"], ["demo", "load", "--stores", str(args.stores)], ["forecast", "run"],
                     ["replenish", "plan"]):
            started = time.perf_counter()
            subprocess.run(flask + step, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
            print(f"  {' '.join(step)}: {time.perf_counter() - started:.1f} s", flush=True)
        analyse = create_engine(url, isolation_level="AUTOCOMMIT")
        with analyse.connect() as connection:  # fresh tables: give the planner their sizes now, not later
            connection.execute(text("ANALYZE"))
        analyse.dispose()
    return url


def _keys(url: str) -> tuple[str, str, str]:
    """A read key of the brand with the most stock rows and of the store with the most SKUs."""
    from retail.db import make_engine, new_session
    from retail.services import api_keys

    engine = make_engine(url)
    with new_session(engine) as session:
        brand = session.execute(text(
            "SELECT b.code FROM brand b JOIN product p ON p.brand_id = b.id JOIN stock_balance s ON s.product_id = p.id "
            "GROUP BY b.code ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        store = session.execute(text(
            "SELECT l.code FROM location l JOIN stock_balance s ON s.location_id = l.id WHERE l.kind = 'store' "
            "GROUP BY l.code ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        brand_key = api_keys.create_key_as_operator(session, name="load brand", brand_code=brand, scopes="read")
        store_key = api_keys.create_key_as_operator(session, name="load store", store_code=store, scopes="read")
    engine.dispose()
    return brand, brand_key.secret, store_key.secret


async def _client(host: str, port: int, request: bytes, until: float, latencies: list, failures: list) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                failures.append(status)
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _drive(base: str, path: str, key: str | None, clients: int, seconds: float) -> dict:
    parts = urlsplit(base)
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    request = (f"GET {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n{auth}"
               "Accept: application/json\r\nConnection: keep-alive\r\n\r\n").encode()
    latencies: list[float] = []
    failures: list[int] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_client(parts.hostname, parts.port, request, until, latencies, failures)
                           for _ in range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"requests": len(ordered), "rps": len(ordered) / elapsed, "failures": len(failures),
            "statuses": sorted(set(failures)),
            "p50": statistics.median(ordered) * 1000 if ordered else float("nan"),
            "p99": ordered[int(len(ordered) * 0.99) - 1] * 1000 if ordered else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--stores", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--reuse", action="store_true", help="keep the retail_load database if it exists")
    args = parser.parse_args()

    print(f"database: demo world of {args.stores} stores on PostgreSQL", flush=True)
    url = _database(args)
    brand, brand_key, store_key = _keys(url)
    from tests.api.live import gunicorn

    env = {"API_RATE_LIMIT": "10000000/minute", "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")}
    log = Path("/tmp/load_api_gunicorn.log")
    endpoints = [
        ("ceiling: GET /api/v1/me", "/api/v1/me", brand_key),
        ("brand stock by SKU", "/api/v1/brand/stock?level=sku&limit=50", brand_key),
        ("brand stock by store", "/api/v1/brand/stock?level=store&limit=50", brand_key),
        ("store stock", "/api/v1/store/stock?limit=50", store_key),
        ("brand forecast, network", "/api/v1/brand/forecasts?level=network&limit=50", brand_key),
        ("brand forecast, by store", "/api/v1/brand/forecasts?level=store&limit=50", brand_key),
        ("reference: GET /healthz (no key)", "/healthz", None),
    ]
    with gunicorn(url, log, workers=args.workers, threads=args.threads, **env) as base:
        print(f"gunicorn {args.workers} workers x {args.threads} threads, {args.clients} clients, "
              f"{args.seconds:.0f} s each; brand {brand}", flush=True)
        for _name, path, key in endpoints:  # warm every worker's caches and connections
            asyncio.run(_drive(base, path, key, args.clients, 2))
        results = {name: asyncio.run(_drive(base, path, key, args.clients, args.seconds))
                   for name, path, key in endpoints}
    ceiling = results["ceiling: GET /api/v1/me"]["rps"]
    print(f"\n{'operation':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}  verdict (target p99 < "
          f"{TARGET_P99_MS:.0f} ms, ratio >= {TARGET_RATIO})")
    for name, r in results.items():
        ratio = r["rps"] / ceiling if ceiling else float("nan")
        verdict = "ok" if r["p99"] < TARGET_P99_MS and (ratio >= TARGET_RATIO or "ceiling" in name) else "MISS"
        if r["failures"]:
            verdict += f" ({r['failures']} non-200: {r['statuses']})"
        print(f"{name:<34} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p99']:>8.1f} {ratio:>6.2f}  {verdict}")


if __name__ == "__main__":
    main()
