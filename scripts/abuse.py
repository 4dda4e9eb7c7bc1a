#!/usr/bin/env python3
"""Run issue 10's attacks against a live server, signed in as a store staff account.

    python scripts/abuse.py http://127.0.0.1:8000 --email s0001.staff1@stores.example.com --password ...

One line per attack: name, HTTP status, seconds, `ok` or `FAIL` (and why); then `abuse: N attacks, M failed`.
Exit status 1 when any attack fails. An attack is ok when the server refuses it (or makes it harmless) in under
a second and the store's stock (on hand, demo, in transit per SKU, read from the store home page) is unchanged;
where an attack rides on a legitimate first request (a sale posted twice, a file imported once and then
changed by one byte), only the repeat is judged. Attacks that need something the store lacks (an open
delivery, a sale to return) are skipped and say so. The last attacks sign the account out everywhere and
trip the sign-in throttle: run the script on a demo or test server.
"""
from __future__ import annotations

import argparse
import io
import re
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import requests

LIMIT_SECONDS = 1.0
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
STOCK_ROW = re.compile(r'<td><a href="[^"]*\?sku=([^"&]+)">[^<]*</a>.*?<td class="n">(\d+)</td><td class="n">(\d+)</td>'
                       r'<td class="n">(\d+)</td>', re.S)
HEADER = b"date,sku,quantity,serials,unit_price,type,receipt\n"


@dataclass
class Outcome:
    status: int | str
    seconds: float
    ok: bool
    why: str = ""


class Store:
    """A signed-in staff session on the store the account lands on."""

    def __init__(self, base: str, email: str, password: str):
        self.base, self.email, self.password = base.rstrip("/"), email, password
        self.http = requests.Session()
        self.store_id = self.sign_in(self.http)

    def sign_in(self, http: requests.Session) -> int:
        token = TOKEN.search(http.get(f"{self.base}/login", timeout=30).text).group(1)
        r = http.post(f"{self.base}/login", data={"email": self.email, "password": self.password, "csrf_token": token},
                      allow_redirects=True, timeout=30)
        found = re.search(r"/stores/(\d+)", r.url)
        if not found:
            raise SystemExit(f"abuse: could not sign in as {self.email} (status {r.status_code}, at {r.url})")
        return int(found.group(1))

    def url(self, path: str) -> str:
        return f"{self.base}/stores/{self.store_id}" + (f"/{path.lstrip('/')}" if path else "")

    def page(self, path: str) -> str:
        return self.http.get(self.url(path), timeout=30).text

    def token(self, path: str = "sale") -> str:
        return TOKEN.search(self.page(path)).group(1)

    def stock(self) -> dict[str, tuple[int, int, int]]:
        home = self.http.get(self.url(""), timeout=30)
        if home.status_code != 200:
            raise SystemExit(f"abuse: the store home answered {home.status_code}")
        return {sku: (int(a), int(b), int(c)) for sku, a, b, c in STOCK_ROW.findall(home.text)}

    def post(self, path: str, data: dict, files=None, token_from: str = "sale") -> Callable[[], requests.Response]:
        """The attack request, built (token fetched, body encoded) now and sent when called: only the
        server's answer is timed."""
        data = {"csrf_token": self.token(token_from), "idempotency_key": uuid.uuid4().hex, **data}
        prepared = self.http.prepare_request(requests.Request("POST", self.url(path), data=data, files=files))
        return lambda: self.http.send(prepared, allow_redirects=False, timeout=60)

    def skus(self) -> tuple[str | None, str | None]:
        """A SKU without serials and one with, both on hand here (from the count page's boxes)."""
        page, stock = self.page("count"), self.stock()
        serialised = set(re.findall(r'name="serials-([^"]+)"', page))
        plain = [s for s, (on_hand, _, _) in stock.items() if on_hand > 0 and s not in serialised]
        with_serials = [s for s, (on_hand, _, _) in stock.items() if on_hand > 0 and s in serialised]
        return (plain[0] if plain else None), (with_serials[0] if with_serials else None)


def timed(request: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    began = time.perf_counter()
    response = request()
    return response, time.perf_counter() - began


def refused(store: Store, request: Callable[[], requests.Response], *, expect=range(400, 500),
            check: Callable[[requests.Response], str] | None = None) -> Outcome:
    """The attack request is refused (a 4xx) in time and the store's stock is as before."""
    before = store.stock()
    response, seconds = timed(request)
    why = []
    if response.status_code not in expect:
        why.append(f"status {response.status_code}")
    if seconds >= LIMIT_SECONDS:
        why.append(f"took {seconds:.2f} s")
    if check is not None and (problem := check(response)):
        why.append(problem)
    if store.stock() != before:
        why.append("stock changed")
    return Outcome(response.status_code, seconds, not why, "; ".join(why))


def csv_file(*rows: bytes) -> dict:
    return {"file": ("till.csv", HEADER + b"".join(rows), "text/csv")}


def xlsx_bomb() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["date", "sku", "quantity"])
    plain = io.BytesIO()
    book.save(plain)
    source, target = zipfile.ZipFile(io.BytesIO(plain.getvalue())), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', data)
            out.writestr(item, data)
    return target.getvalue()


def attacks(store: Store) -> list[tuple[str, Callable[[], Outcome]]]:
    plain, serialised = store.skus()
    sku = plain or serialised or "UNKNOWN-SKU"
    deliveries = re.findall(r"/deliveries/(\d+)\"", store.page("deliveries"))

    def pos(*rows: bytes) -> Callable[[], requests.Response]:
        return store.post("pos/preview", {}, files=csv_file(*rows), token_from="pos/")

    def no_offsite(response: requests.Response) -> str:
        target = response.headers.get("Location", "")
        return f"redirects to {target!r}" if re.match(r"^\s*(/[/\\\t]|[a-z]+:)", target, re.I) else ""

    def count_split() -> Outcome:
        if plain is None:
            return Outcome("-", 0.0, True, "skipped: no SKU without serials on hand")
        before, started, statuses = store.stock()[plain][0], time.perf_counter(), []
        for _ in range(4):  # one unit short, again and again: a manager must be needed before 3 are gone
            now = store.stock()[plain][0]
            r = store.post("count", {f"counted-{plain}": str(max(now - 1, 0)), "reason": "abuse: split"},
                           token_from="count")()
            statuses.append(r.status_code)
        gone = before - store.stock()[plain][0]
        seconds = (time.perf_counter() - started) / 4
        ok = gone < 3 and seconds < LIMIT_SECONDS
        return Outcome("/".join(map(str, statuses)), seconds, ok, "" if ok else f"{gone} units written off")

    def double_sale(concurrent: bool) -> Callable[[], Outcome]:
        def run() -> Outcome:
            if plain is None or store.stock()[plain][0] < 2:
                return Outcome("-", 0.0, True, "skipped: no SKU without serials with 2 units on hand")
            before = store.stock()[plain][0]
            data = {"csrf_token": store.token("sale"), "idempotency_key": uuid.uuid4().hex, "sku": plain,
                    "quantity": "1"}
            statuses, began = [], time.perf_counter()

            def send():
                statuses.append(store.http.post(store.url("sale"), data=data, allow_redirects=False, timeout=30)
                                .status_code)

            if concurrent:
                threads = [threading.Thread(target=send) for _ in range(2)]
                [t.start() for t in threads]
                [t.join() for t in threads]
            else:
                send()
                send()
            seconds = (time.perf_counter() - began) / 2
            sold = before - store.stock()[plain][0]
            ok = sold == 1 and seconds < LIMIT_SECONDS
            return Outcome("/".join(map(str, sorted(statuses))), seconds, ok, "" if ok else f"{sold} units sold")
        return run

    def confirm_fields(preview: requests.Response) -> dict:
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', preview.text))
        fields.pop("csrf_token", None)
        fields.pop("idempotency_key", None)
        return fields

    def reimport_one_byte() -> Outcome:
        """A file imported once, then the same rows with one byte more: confirming it sells nothing again."""
        if plain is None:
            return Outcome("-", 0.0, True, "skipped: no SKU without serials on hand")
        receipt = f"AB-{uuid.uuid4().hex[:8]}".encode()
        row = b"2026-11-20 10:00," + plain.encode() + b",1,,,sale," + receipt + b"\n"
        first = store.post("pos/preview", {}, files=csv_file(row), token_from="pos/")()
        if first.status_code != 200 or "confirm" not in first.text:
            return Outcome(first.status_code, 0.0, True, "skipped: the first file did not preview")
        store.post("pos/confirm", confirm_fields(first), token_from="pos/")()
        again = store.post("pos/preview", {}, files=csv_file(row + b"\n"), token_from="pos/")()
        if again.status_code >= 400:
            return Outcome(again.status_code, 0.0, True, "refused at preview")
        return refused(store, store.post("pos/confirm", confirm_fields(again), token_from="pos/"),
                       expect=range(200, 500))

    def return_quantity(quantity: str) -> Callable[[], Outcome]:
        def run() -> Outcome:
            sales = re.findall(r"<li>#(\d+) (\S+) × (\d+)", store.page("return"))
            if not sales:
                return Outcome("-", 0.0, True, "skipped: no sale to return")
            return refused(store, store.post("return", {"sale": sales[0][0], "quantity": quantity}))
        return run

    def logout_revokes() -> Outcome:
        other = requests.Session()
        store.sign_in(other)
        copy = requests.Session()
        copy.cookies.update(other.cookies)
        token = TOKEN.search(other.get(store.url("sale"), timeout=30).text).group(1)
        other.post(f"{store.base}/logout", data={"csrf_token": token}, timeout=30)
        response, seconds = timed(lambda: copy.get(store.url(""), allow_redirects=False, timeout=30))
        ok = response.status_code in (302, 401) and "/login" in response.headers.get("Location", "/login")
        store.store_id = store.sign_in(store.http)  # logout ends every session of the account: sign in again
        return Outcome(response.status_code, seconds, ok and seconds < LIMIT_SECONDS,
                       "" if ok else "a copied cookie still works after logout")

    def spray() -> Outcome:
        statuses, began = [], time.perf_counter()
        fresh = requests.Session()
        for i in range(14):
            token = TOKEN.search(fresh.get(f"{store.base}/login", timeout=30).text)
            data = {"email": f"abuse-{i}-{uuid.uuid4().hex[:6]}@stores.example.com", "password": "wrong-password",
                    "csrf_token": token.group(1) if token else ""}
            statuses.append(fresh.post(f"{store.base}/login", data=data, allow_redirects=False, timeout=30).status_code)
            if statuses[-1] == 429:
                break
        seconds = (time.perf_counter() - began) / len(statuses)
        ok = 429 in statuses
        return Outcome(statuses[-1], seconds, ok, "" if ok else f"{len(statuses)} guesses, none throttled")

    bomb = xlsx_bomb()
    headers = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")
    big = "9" * 25
    listed = [
        ("1 pos quantity 1e1000000", lambda: refused(store, pos(b"2026-11-20," + sku.encode() + b",1e1000000,,199,sale,X\n"))),
        ("1 pos quantity Infinity", lambda: refused(store, pos(b"2026-11-20," + sku.encode() + b",Infinity,,199,sale,X\n"))),
        ("2 xlsx declaring A1:XFD1048576", lambda: refused(store, store.post(
            "pos/preview", {}, files={"file": ("bomb.xlsx", bomb, "application/octet-stream")}, token_from="pos/"))),
        ("3 sale with 20,000 serials", lambda: refused(store, store.post(
            "sale", {"sku": sku, "serials": "\n".join(f"AB{i:07d}" for i in range(20_000))}), expect=range(400, 500))),
        ("3 sale with a 7.6 MB serials field", lambda: refused(store, store.post(
            "sale", {"sku": sku, "serials": "AB1234567\n" * 760_000}), expect=range(400, 500))),
        ("5 receive 10^12 units", (lambda: refused(store, store.post(
            f"deliveries/{deliveries[0]}", {"received-" + sku: "1000000000000"}, token_from=f"deliveries/{deliveries[0]}")))
         if deliveries else (lambda: Outcome("-", 0.0, True, "skipped: no open delivery"))),
        ("5 missed sale of 10^12", lambda: refused(store, store.post("missed", {"sku": sku, "quantity": "1000000000000"}))),
        ("6 pos sale at 0.00", lambda: refused(store, pos(b"2026-11-20 10:00," + sku.encode() + b",1,,0.00,sale,Z1\n"))),
        ("6 pos return against another store's sale", lambda: refused(store, pos(
            b"2026-11-20 10:00," + sku.encode() + b",1,,199,return,SALE-1\n"))),
        ("6 pos file re-imported with one byte more", reimport_one_byte),
        ("7 sale form posted twice", double_sale(concurrent=False)),
        ("7 sale form posted twice at once", double_sale(concurrent=True)),
        ("4 count one short, repeated", count_split),
        ("5 return quantity 0", return_quantity("0")),
        ("5 return quantity -1", return_quantity("-1")),
        ("8 sign-in next=/\\t/evil.example", lambda: refused(store, lambda: store.http.post(
            f"{store.base}/login?next=%2F%09%2Fevil.example", data={
                "email": store.email, "password": store.password,
                "csrf_token": TOKEN.search(store.http.get(f"{store.base}/login", timeout=30).text).group(1)},
            allow_redirects=False, timeout=30), expect=range(300, 400), check=no_offsite)),
        ("8 language next=//evil.example", lambda: refused(store, lambda: store.http.post(
            f"{store.base}/language?next=%2F%2Fevil.example", data={"language": "en", "csrf_token": store.token()},
            allow_redirects=False, timeout=30), expect=range(300, 400), check=no_offsite)),
        ("8 next with a newline", lambda: refused(store, lambda: store.http.post(
            f"{store.base}/language?next=%2F%0d%0aSet-Cookie:x=1", data={"language": "zh_Hans", "csrf_token": store.token()},
            allow_redirects=False, timeout=30), expect=range(300, 400), check=no_offsite)),
        ("11 security headers", lambda: refused(store, lambda: store.http.get(store.url("sale"), timeout=30),
                                                expect=range(200, 300), check=lambda r: ", ".join(
                                                    h for h in headers if h not in r.headers) and "missing headers")),
        ("12 sale quantity 10^19", lambda: refused(store, store.post("sale", {"sku": sku, "quantity": "10000000000000000000"}))),
        ("12 count id 10^20 in the URL", lambda: refused(store, lambda: store.http.get(
            store.url("count/99999999999999999999"), timeout=30), expect=(404,))),
        ("12 count quantity 10^25", lambda: refused(store, store.post(
            "count", {f"counted-{sku}": big, "reason": "abuse"}, token_from="count"))),
        ("12 demo quantity 10^25", lambda: refused(store, store.post("demo", {"sku": sku, "quantity": big, "direction": "out"}))),
        ("12 pos receipt of 100 characters", lambda: refused(store, pos(
            b"2026-11-20 10:00," + sku.encode() + b",1,,199,sale," + b"R" * 100 + b"\n"))),
        ("13 serial of no unit here", lambda: refused(store, store.post("sale", {"serials": "ZZ-NOT-A-UNIT-HERE"}))),
        ("13 readyz says nothing to the public", lambda: refused(store, lambda: requests.get(f"{store.base}/readyz", timeout=30),
                                                                expect=range(200, 600), check=lambda r: "tells " + r.text[:60]
                                                                if re.search(r"Error|Exception|Traceback", r.text) else "")),
        ("14 413 page in the site's language", lambda: refused(store, store.post(
            "pos/preview", {}, files={"file": ("big.csv", b"x" * (40 * 1024 * 1024), "text/csv")}, token_from="pos/"),
            expect=(413,), check=lambda r: "bare Werkzeug page" if "Request Entity Too Large" in r.text else "")),
        ("10 copied cookie after logout", logout_revokes),
        ("9 password spraying across accounts", spray),
    ]
    return listed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args(argv)
    store = Store(args.url, args.email, args.password)
    failed = 0
    listed = attacks(store)
    for name, attack in listed:
        try:
            outcome = attack()
        except requests.RequestException as exc:
            outcome = Outcome("error", 0.0, False, type(exc).__name__)
        failed += not outcome.ok
        print(f"{name:<48} {outcome.status!s:>9} {outcome.seconds:6.2f} s  {'ok' if outcome.ok else 'FAIL'}"
              + (f"  ({outcome.why})" if outcome.why else ""), flush=True)
    print(f"abuse: {len(listed)} attacks, {failed} failed (target: each refused or harmless in < {LIMIT_SECONDS:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
