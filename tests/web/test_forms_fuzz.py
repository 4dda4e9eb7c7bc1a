"""Every field of every form of every store page, fuzzed (issue 10).

Signed in as store A's manager (the widest store role: counts and orders too), with a valid CSRF token,
hypothesis posts arbitrary text, numbers, lengths and files to each form found on the store's pages, plus
stray fields of the same prefixes (`counted-<x>`, `received-<x>`, `serials-<x>`, `qty-<x>`). Each answer
must be below 500; after each, the ledger must hold (balances equal the sum of their movements, nothing
negative, serialised stock equals its serial units), and a refused post (4xx) must have changed nothing.

The pages are found from the app's URL map (a new store form page fails `test_every_store_form_is_fuzzed`).
"""
from __future__ import annotations

import io
import os
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from retail.models import (
    CustomerOrder,
    ForecastRun,
    ForecastSeries,
    Movement,
    Product,
    ReplenishmentRun,
    SerialUnit,
    StockBalance,
    SuggestedLine,
)
from retail.services import counts, deliveries, transfers
from tests.committing import shipments
from tests.factories import on_the_mainland
from tests.web.factories import sign_in

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
# The store pages that hold writing forms, with the ids they need; POST-only routes are reached through the
# form that posts to them (a transfer's ship/decline/cancel, the POS confirmation).
PAGES = ["sale", "missed", "return", "deliveries/{delivery}", "deliveries/{surplus}", "count", "count/{count}", "demo", "transfers",
         "transfers/{incoming}", "transfers/{outgoing}", "replenishment", "pos/",
         "customer-orders", "customer-orders/{customer_order}", "customer-orders/{origin_order}"]
ODD = ["", " ", "0", "-1", "1.5", "1e1000000", "Infinity", "-inf", "NaN", "9" * 25, "１２", " 3 ", "\x00", "\r\n",
       "SN-A1", "SN-A1\nSN-A1", "SN-B1", "RK-CASE", "RK-MAX2-BLK", "6970000000024", "S0001", "S0002", "S9999",
       "approve", "reject", "in", "out", "//evil.example", "%(sku)s", "{sku}", "<script>alert(1)</script>",
       "' OR 1=1 --", "2147483648", "-2147483649", "0x10", "1_000"]


@pytest.fixture
def database_url(both_backends) -> str:
    return both_backends


class Forms(HTMLParser):
    """The POST forms of a page: action, enctype and fields (name -> values seen)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = {"action": a.get("action") or "", "enctype": a.get("enctype") or "", "fields": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select", "button") and a.get("name"):
            values = self._form["fields"].setdefault(a["name"], [])
            if tag == "select":
                self._select = values
            elif a.get("value") is not None:
                values.append(a["value"])
            if a.get("type") == "file":
                self._form["fields"][a["name"]] = ["<file>"]
        elif tag == "option" and self._select is not None and a.get("value") is not None:
            self._select.append(a["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_of(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    # The language switch and sign-out of the page frame are not this page's forms.
    return [f for f in parser.forms if "/language" not in f["action"] and "/logout" not in f["action"]]


@pytest.fixture
def fuzz_world(session, world):
    """A held count, a request to A and one from A, and a suggested order: every form is on some page."""
    a, b = world["a"].id, world["b"].id
    held = counts.submit_count(session, world["staff"], store_id=a, counted={"RK-CASE": 0}, reason="fuzz")
    session.execute(held.__table__.update().where(held.__table__.c.id == held.id).values(status="pending_approval"))
    session.commit()
    on_the_mainland(session, world["b"])  # store to store stays on one side of the border
    incoming = transfers.request_transfer(session, world["staff_b"], store_id=b, from_store_code="S0001",
                                          sku="RK-CASE", quantity=1)
    outgoing = transfers.request_transfer(session, world["staff"], store_id=a, from_store_code="S0002",
                                          sku="RK-MAX2-BLK", quantity=1)
    extra = shipments.ship(session, from_location_id=world["dc"].id, to_location_id=a, reference="SH-SURPLUS",
                           lines=[shipments.Line("RK-CASE", 1)])
    deliveries.receive(session, world["staff"], store_id=a, shipment_id=extra.id, received={"RK-CASE": 3})
    forecast = ForecastRun(start_week=date(2026, 11, 23), horizon=3, quantiles=[0.5, 0.8, 0.95])
    session.add(forecast)
    session.flush()
    run = ReplenishmentRun(forecast_run_id=forecast.id, as_of=date(2026, 11, 23))
    session.add(run)
    session.flush()
    session.add(ForecastSeries(run_id=forecast.id, location_id=a, product_id=world["case"].id,
                               mean=[0.6, 0.8, 1.2], quantiles={"p50": [0, 1, 1], "p95": [2, 3, 4]}))
    for product in (world["glasses"], world["case"]):
        session.add(SuggestedLine(run_id=run.id, location_id=a, product_id=product.id, quantity=2, explanation={},
                                  text="fuzz"))
    # customer orders (docs/customer-orders.md): one of A's waiting for a source (source and cancel forms), one of
    # B's that A is to ship (A the origin, B's transfer request to A: the ship form)
    waiting = CustomerOrder(store_id=a, product_id=world["glasses"].id, quantity=1, currency="CNY",
                            unit_price=world["glasses"].list_price_cny, promised_date=date(2026, 12, 24),
                            customer_ref="FUZZ-1")
    from_a = CustomerOrder(store_id=b, product_id=world["case"].id, quantity=1, state="sourced", currency="HKD",
                           unit_price=world["case"].list_price_hkd, promised_date=date(2026, 12, 24),
                           customer_ref="FUZZ-2", source_kind="store", source_location_id=a,
                           transfer_id=incoming.id)
    session.add_all([waiting, from_a])
    session.commit()
    return {**world, "ids": {"delivery": world["delivery_a"].id, "surplus": extra.id, "count": held.id,
                             "incoming": incoming.id,
                             "outgoing": outgoing.id, "customer_order": waiting.id, "origin_order": from_a.id}}


def ledger_state(engine) -> tuple:
    """What the ledger holds, after checking its invariants."""
    with engine.connect() as c:
        moved = dict(((loc, prod), int(q)) for loc, prod, q in c.execute(
            select(Movement.location_id, Movement.product_id, func.sum(Movement.quantity))
            .group_by(Movement.location_id, Movement.product_id)))
        balances = {(r.location_id, r.product_id): (r.on_hand, r.demo, r.in_transit)
                    for r in c.execute(select(StockBalance))}
        serialised = set(c.execute(select(Product.id).where(Product.serialised)).scalars())
        units = dict(((loc, prod), n) for loc, prod, n in c.execute(
            select(SerialUnit.location_id, SerialUnit.product_id, func.count())
            .where(SerialUnit.state == "in_stock").group_by(SerialUnit.location_id, SerialUnit.product_id)))
        movements = c.execute(select(func.count()).select_from(Movement)).scalar_one()
    for key, (on_hand, demo, in_transit) in balances.items():
        assert min(on_hand, demo, in_transit) >= 0, key
        assert on_hand == moved.get(key, 0), (key, on_hand, moved.get(key))
        if key[1] in serialised:
            assert on_hand == units.get(key, 0), (key, on_hand, units.get(key))
    return movements, tuple(sorted(balances.items()))


GOOD = {"sku": ["RK-CASE", "RK-MAX2-BLK", "6970000000024"], "quantity": ["1", "2"], "serials": ["SN-A1", "SN-A2"],
        "sale": ["1", "2"], "from_store": ["S0002"], "reason": ["fuzz"], "note": ["fuzz"], "decision": ["approve"],
        "direction": ["in", "out"]}
NUMBERS = ["9" * 25, "10000000000000000000", "2147483648", "99999999999", "-1", "0", "1e1000000", "Infinity",
           "NaN", "1.5", "-0", "１２３４５６７８９０１２３"]


def nasty():
    long_text = st.builds(lambda c, n: c * n, st.sampled_from(["9", "x", "序", "SN-1 ", "\u200b"]),
                          st.integers(0, 70_000))
    numbers = st.sampled_from(NUMBERS)
    return st.one_of(numbers, numbers, numbers, st.sampled_from(ODD), st.text(max_size=200),
                     st.integers(-(10 ** 30), 10 ** 30).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
                     long_text)


def good_values(name: str, seen: list[str]) -> list[str]:
    return [v for v in seen if v] or GOOD.get(re.sub(r"-.*", "", name)) or ["1", "RK-CASE", "fuzz"]


@st.composite
def form_strategy(draw, form: dict):
    """A post of the form: every field a value the form would accept (so that the post reaches the verb),
    except one chosen field, which gets a hostile value, and now and then others too; plus stray fields of
    the form's prefixes and a file where the form takes one."""
    names = [n for n, values in form["fields"].items()
             if n not in ("csrf_token", "idempotency_key") and values != ["<file>"]]
    victim = draw(st.sampled_from(names + ["(none)"])) if names else "(none)"
    fields = {}
    for name in names:
        roll = draw(st.integers(0, 11))
        if name == victim or roll == 0:
            fields[name] = draw(nasty())
        elif roll != 1:  # 1: the field is left out
            fields[name] = draw(st.sampled_from(good_values(name, form["fields"][name])))
    prefixes = sorted({m.group(1) for name in form["fields"] if (m := re.match(r"([a-z]+-)", name))})
    if prefixes:
        fields |= draw(st.dictionaries(st.sampled_from(prefixes).flatmap(
            lambda p: st.one_of(st.text(max_size=30), st.sampled_from(GOOD["sku"])).map(lambda s: p + s)),
            nasty(), max_size=4))
    files = {name: draw(st.one_of(st.binary(max_size=3000), st.sampled_from(POS_FILES)))
             for name, values in form["fields"].items() if values == ["<file>"]}
    key = draw(st.one_of(st.uuids().map(lambda u: u.hex), st.text(max_size=80)))
    return {"fields": fields, "files": files, "key": key}


POS_FILES = [b"date,sku,quantity,serials,unit_price,type,receipt\n2026-11-20,RK-CASE,1e1000000,,199,sale,R1\n",
             b"date,sku,quantity,serials,unit_price,type,receipt\n2026-11-20,RK-CASE,2,,0.00,return,R1\n",
             b"date,sku,quantity,serials,unit_price,type,receipt\n2026-11-20,RK-CASE,99999999999,,1,sale,R2\n",
             b"PK\x03\x04" + b"\x00" * 200]


def test_every_store_form_is_fuzzed(app):
    """Every POST route of the store pages is the action of a form on one of PAGES (checked by the fuzz
    below, which fails when a listed page has no form); the list is read against the app's URL map."""
    posting = sorted(rule.rule for rule in app.url_map.iter_rules()
                     if rule.rule.startswith("/stores/<int:store_id>/") and "POST" in (rule.methods or ()))
    reached = {"/sale", "/missed", "/return", "/deliveries/<int:shipment_id>", "/count", "/count/<int:count_id>",
               "/demo", "/transfers", "/transfers/<int:transfer_id>/ship", "/transfers/<int:transfer_id>/decline",
               "/transfers/<int:transfer_id>/cancel", "/replenishment", "/pos/preview", "/pos/confirm",
               "/deliveries/<int:shipment_id>/surplus", "/customer-orders", "/customer-orders/<int:order_id>/source",
               "/customer-orders/<int:order_id>/ship", "/customer-orders/<int:order_id>/arrive",
               "/customer-orders/<int:order_id>/hand-over", "/customer-orders/<int:order_id>/cancel"}
    assert [r for r in posting if r[len("/stores/<int:store_id>"):] not in reached] == []


def page_forms(client, store_id: int, page: str, ids: dict) -> tuple[str, str, list[dict]]:
    """The page's path, its CSRF token and its writing forms (the POS confirmation: from a preview)."""
    path = f"/stores/{store_id}/" + page.format(**ids)
    html = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    forms = forms_of(html)
    if page == "pos/":
        preview = client.post(f"/stores/{store_id}/pos/preview", data={"csrf_token": token, "file": (io.BytesIO(
            b"date,sku,quantity,serials,unit_price,type,receipt\n2026-11-20 10:00,RK-CASE,1,,199,sale,FZ-1\n"),
            "f.csv")})
        forms += forms_of(preview.get_data(as_text=True))
    assert forms, f"no form on {path}"
    return path, token, forms


def post_and_check(client, engine, path: str, form: dict, data: dict) -> int:
    before = ledger_state(engine)
    response = client.post(form["action"] or path, data=data)
    if os.environ.get("FUZZ_TRACE"):
        print("FUZZ", form["action"] or path, response.status_code, {k: str(v)[:30] for k, v in data.items()})
    assert response.status_code < 500, (form["action"], response.status_code, data)
    if response.status_code >= 400:
        assert ledger_state(engine) == before, (form["action"], response.status_code, data)
    return response.status_code


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_every_hostile_value_in_every_field_is_refused_cleanly(app, client, engine, fuzz_world, page):
    """The systematic half: each field of each form in turn gets each hostile number and string, the other
    fields a value the form accepts, so that the post reaches the verb."""
    sign_in(client, "manager@a.example.com")
    path, token, forms = page_forms(client, fuzz_world["a"].id, page, fuzz_world["ids"])
    for number, form in enumerate(forms):
        names = [n for n, v in form["fields"].items() if n not in ("csrf_token", "idempotency_key") and v != ["<file>"]]
        base = {n: good_values(n, form["fields"][n])[0] for n in names}
        files = [n for n, v in form["fields"].items() if v == ["<file>"]]
        for name in names:
            for hostile in NUMBERS + ["", "\x00", "x" * 70_000, "SN-A1\nSN-A1", "<script>", "' OR 1=1 --"]:
                data = base | {name: hostile, "csrf_token": token, "idempotency_key": f"{number}-{name}-{hostile[:20]}"}
                data |= {f: (io.BytesIO(POS_FILES[0]), "f.csv") for f in files}
                post_and_check(client, engine, path, form, data)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_no_value_in_any_field_gives_a_500_or_moves_stock_unless_accepted(app, client, engine, fuzz_world, page):
    """The random half: hypothesis draws whole posts (see `form_strategy`)."""
    sign_in(client, "manager@a.example.com")
    path, token, forms = page_forms(client, fuzz_world["a"].id, page, fuzz_world["ids"])

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(st.sampled_from(forms).flatmap(lambda f: st.tuples(st.just(f), form_strategy(f))))
    def post_anything(case):
        form, drawn = case
        data = dict(drawn["fields"]) | {"csrf_token": token, "idempotency_key": drawn["key"]}
        for name, content in drawn["files"].items():
            data[name] = (io.BytesIO(content), "fuzz.csv")
        post_and_check(client, engine, path, form, data)

    post_anything()
