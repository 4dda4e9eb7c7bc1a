"""Load on the partner API: requests per second and p50/p99 latency of the stock and forecast lists under
gunicorn on PostgreSQL, with 32 concurrent keep-alive clients, next to a trivial operation of the same app
(`GET /api/v1/me`: the same key check and rate limit, no query) as the ceiling.

    python scripts/load_api.py [--stores 300] [--seconds 15] [--clients 32] [--reuse]
                               [--client wrk|asyncio] [--config 2x16 --config 8x4:gthread --config 6x1:sync ...]

It builds (or with --reuse, keeps) a PostgreSQL database `retail_load` on TEST_POSTGRES_URL's server with the
demo world of --stores stores, its forecast and its replenishment plan, creates a brand key and a store key,
serves the app with gunicorn (each --config: WORKERSxTHREADS[:WORKER_CLASS], rate limits in Redis at
REDIS_URL, default redis://127.0.0.1:6379/0), and drives it with 32 keep-alive clients: Debian's `wrk` (C, one
thread, a few microseconds per request: `apt-get install wrk`), or without it one asyncio process (raw HTTP/1.1,
about ten times wrk's CPU per request, taken from the server's two cores).
Targets: p99 under 50 ms; throughput at least half of the ceiling's. Not a test: these machines are shared.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
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


# wrk counts the answers by status (each thread keeps its own table; `done` reads them from the threads)
_WRK_STATUSES = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do io.write(string.format("status %d %d\n", status, count)) end
  end
end
"""


def _wrk(base: str, path: str, key: str | None, clients: int, seconds: float) -> dict:
    """Debian's wrk, one thread, `clients` keep-alive connections; its latency distribution (p50, p99)."""
    script = Path("/tmp/load_api_statuses.lua")
    script.write_text(_WRK_STATUSES)
    command = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s",
               "-s", str(script), "-H", "Accept: application/json"]
    if key:
        command += ["-H", f"Authorization: Bearer {key}"]
    out = subprocess.run(command + [base + path], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        number, unit = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE).groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    statuses = {int(status): int(count) for status, count in re.findall(r"^status (\d+) (\d+)$", out, re.MULTILINE)}
    errors = re.search(r"Socket errors: (.*)", out)
    return {"requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "failures": sum(count for status, count in statuses.items() if status != 200) + (1 if errors else 0),
            "statuses": sorted(status for status in statuses if status != 200) + (
                [errors.group(1).strip()] if errors else []), "p50": ms("50"), "p99": ms("99")}


_TICK = os.sysconf("SC_CLK_TCK")


def _server_pids(url: str) -> set[int]:
    """gunicorn (this script's child and its workers) and the PostgreSQL backends of the load database."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    todo = [pid for pid in children.get(os.getpid(), [])  # not wrk, also a child
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    pids = set()
    while todo:
        pid = todo.pop()
        pids.add(pid)
        todo.extend(children.get(pid, []))
    engine = _ADMIN.setdefault(url, create_engine(url))
    with engine.connect() as connection:
        pids |= {pid for (pid,) in connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))}
    return pids


_ADMIN: dict = {}


def _cpu(pids: set[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return out


def _measure(client: str, base: str, path: str, key: str | None, clients: int, seconds: float,
             url: str | None = None) -> dict:
    """The run's figures, and with `url` the server's CPU per request (gunicorn and PostgreSQL, user and
    system time): what the operation costs whatever else shares the machine."""
    before = _cpu(_server_pids(url)) if url else {}
    if client == "wrk":
        result = _wrk(base, path, key, clients, seconds)
    else:
        result = asyncio.run(_drive(base, path, key, clients, seconds))
    if url:
        after = _cpu(_server_pids(url) | set(before))
        used = sum(after.get(pid, before.get(pid, 0.0)) - before.get(pid, 0.0) for pid in set(before) | set(after))
        result["cpu_ms"] = 1000 * used / max(1, result["requests"])
    return result


def _config(text_: str) -> tuple[int, int, str]:
    """WORKERSxTHREADS[:CLASS], e.g. 4x8 (gthread), 6x1:sync."""
    match = re.fullmatch(r"(\d+)x(\d+)(?::(sync|gthread))?", text_)
    if not match:
        raise argparse.ArgumentTypeError(f"{text_!r}: WORKERSxTHREADS[:sync|gthread]")
    workers, threads = int(match.group(1)), int(match.group(2))
    return workers, threads, match.group(3) or ("gthread" if threads > 1 else "sync")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--stores", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--config", type=_config, action="append",
                        help="gunicorn WORKERSxTHREADS[:sync|gthread]; repeat to compare (default 2x16, the setting docs/api.md reports)")
    parser.add_argument("--client", choices=("wrk", "asyncio"), default="wrk" if shutil.which("wrk") else "asyncio")
    parser.add_argument("--only", default="", help="a comma-separated subset of: me,bsku,bstore,sstock,fnet,fstore,health")
    parser.add_argument("--reuse", action="store_true", help="keep the retail_load database if it exists")
    parser.add_argument("--no-redis", action="store_true",
                        help="serve without Redis: rate counts per worker and no answers kept by their data, so "
                             "every stock page is read from PostgreSQL (what a page costs when its data changed)")
    parser.add_argument("--warm", type=float, default=3, help="seconds of load per operation before measuring")
    parser.add_argument("--keepalive", type=int, default=None,
                        help="gunicorn's keep-alive seconds (GUNICORN_KEEPALIVE; 0: one request a connection)")
    args = parser.parse_args()

    print(f"database: demo world of {args.stores} stores on PostgreSQL", flush=True)
    url = _database(args)
    brand, brand_key, store_key = _keys(url)
    from tests.api.live import gunicorn

    env = {"API_RATE_LIMIT": "10000000/minute"}
    if not args.no_redis:
        env["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if args.keepalive is not None:
        env["GUNICORN_KEEPALIVE"] = str(args.keepalive)
    log = Path("/tmp/load_api_gunicorn.log")
    endpoints = [
        ("me", "ceiling: GET /api/v1/me", "/api/v1/me", brand_key),
        ("bsku", "brand stock by SKU", "/api/v1/brand/stock?level=sku&limit=50", brand_key),
        ("bstore", "brand stock by store", "/api/v1/brand/stock?level=store&limit=50", brand_key),
        ("sstock", "store stock", "/api/v1/store/stock?limit=50", store_key),
        ("fnet", "brand forecast, network", "/api/v1/brand/forecasts?level=network&limit=50", brand_key),
        ("fstore", "brand forecast, by store", "/api/v1/brand/forecasts?level=store&limit=50", brand_key),
        ("health", "reference: GET /healthz (no key)", "/healthz", None),
    ]
    only = {name for name in args.only.split(",") if name} | ({"me"} if args.only else set())
    endpoints = [e for e in endpoints if not only or e[0] in only]
    if args.client == "asyncio":
        print("client: one asyncio process (install Debian's wrk for a client that takes less of the CPU)")
    for workers, threads, worker_class in args.config or [(2, 16, "gthread")]:
        with gunicorn(url, log, workers=workers, threads=threads, GUNICORN_WORKER_CLASS=worker_class, **env) as base:
            print(f"\ngunicorn {workers} workers x {threads} threads ({worker_class}"
                  f"{'' if args.keepalive is None else f', keep-alive {args.keepalive} s'}), {args.clients} clients "
                  f"({args.client}), {args.seconds:.0f} s each after {args.warm:.0f} s of warming; brand {brand}"
                  f"{'; no Redis: nothing kept by its data' if args.no_redis else ''}",
                  flush=True)
            for _key, _name, path, key in endpoints:  # warm every worker's caches and connections
                _measure(args.client, base, path, key, args.clients, args.warm)
            before = os.getloadavg()[0]
            results = {name: _measure(args.client, base, path, key, args.clients, args.seconds, url)
                       for _key, name, path, key in endpoints}
        _report(results)
        print(f"load average (1 min) before {before:.1f}, after {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: "
              "above ~2.5 other work shares the machine and the figures are low", flush=True)


def _report(results: dict) -> None:
    ceiling = results["ceiling: GET /api/v1/me"]["rps"]
    cpu_ceiling = results["ceiling: GET /api/v1/me"].get("cpu_ms") or float("nan")
    print(f"{'operation':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'cpu ms':>7} {'cpu ratio':>9}"
          f"  verdict (target p99 < {TARGET_P99_MS:.0f} ms, ratio >= {TARGET_RATIO})")
    for name, r in results.items():
        ratio = r["rps"] / ceiling if ceiling else float("nan")
        verdict = "ok" if r["p99"] < TARGET_P99_MS and (ratio >= TARGET_RATIO or "ceiling" in name) else "MISS"
        if r["failures"]:
            verdict += f" ({r['failures']} non-200: {r['statuses']})"
        cpu = r.get("cpu_ms", float("nan"))
        print(f"{name:<34} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p99']:>8.1f} {ratio:>6.2f} {cpu:>7.2f} "
              f"{cpu_ceiling / cpu:>9.2f}  {verdict}", flush=True)
    print("cpu ms: the server's CPU per request (gunicorn and PostgreSQL backends, user + system; not Redis or the "
          "client); cpu ratio: the ceiling's cpu ms / this one's, the throughput ratio two free cores would give")


if __name__ == "__main__":
    main()
