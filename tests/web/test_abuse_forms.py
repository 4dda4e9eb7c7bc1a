"""Issue 10 against the store forms, on SQLite and PostgreSQL.

Item 12: any value a form or a URL can carry is a 422 (or a 404 for an id in the URL), never a 500, and
changes nothing: quantities beyond a 64-bit or a 32-bit INTEGER on the sale, missed sale, count, demo,
receive and return forms, ids beyond INTEGER in URLs, and a count naming one product by its SKU and its
barcode at once.

Item 7: every writing form carries a one-time `idempotency_key`; the same post sent twice (a network retry,
a double click, two tabs) acts once, sequentially and concurrently (PostgreSQL, real locks), and answers like
the first success (303 back to the form, "already recorded"); the same key with another form is refused (422).
"""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from retail.models import AuditLog, IdempotencyKey, MissedSale, Movement, StockBalance, StockCount
from retail.services import sales, transfers
from retail.services import verbs as verbs_module
from tests.factories import on_the_mainland
from tests.web.factories import csrf_token, post, sign_in

HUGE = "10000000000000000000"  # beyond SQLite's 64-bit INTEGER
TEN_DIGITS = "9999999999"  # beyond PostgreSQL's 32-bit INTEGER


@pytest.fixture
def database_url(both_backends) -> str:
    return both_backends


def ledger(session) -> tuple:
    """Everything a form could change: movements, balances, missed sales, counts, keys aside."""
    count = lambda model: session.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
    balances = tuple(session.execute(select(StockBalance.location_id, StockBalance.product_id, StockBalance.on_hand,
                                            StockBalance.demo, StockBalance.in_transit)
                                     .order_by(StockBalance.location_id, StockBalance.product_id)).all())
    session.rollback()
    return count(Movement), count(MissedSale), count(StockCount), balances


def sales_recorded(session) -> int:
    found = session.execute(select(func.count()).select_from(Movement).where(Movement.kind == "sale")).scalar_one()
    session.rollback()
    return found


# Item 12: 422 or 404, never 500, and nothing changes.

def _forms(world) -> list[tuple[str, dict]]:
    a = world["a"].id
    return [(f"/stores/{a}/sale", {"sku": "RK-CASE", "quantity": "{n}"}),
            (f"/stores/{a}/missed", {"sku": "RK-CASE", "quantity": "{n}", "reason": "out_of_stock"}),
            (f"/stores/{a}/count", {"counted-RK-CASE": "{n}", "reason": "x"}),
            (f"/stores/{a}/demo", {"sku": "RK-CASE", "quantity": "{n}", "direction": "out"}),
            (f"/stores/{a}/deliveries/{world['delivery_a'].id}", {"received-RK-CASE": "{n}"}),
            (f"/stores/{a}/return", {"sale": "1", "quantity": "{n}"}),
            (f"/stores/{a}/return", {"sale": "{n}"})]


@pytest.mark.parametrize("number", [HUGE, TEN_DIGITS, "-" + HUGE, "1e1000000"])
def test_numbers_beyond_any_column_are_refused_on_every_form(client, world, session, number):
    sign_in(client, "staff@a.example.com")
    before = ledger(session)
    for path, form in _forms(world):
        data = {name: value.replace("{n}", number) for name, value in form.items()}
        response = post(client, path, data)
        assert response.status_code == 422, (path, data, response.status_code)
        assert "<html" in response.get_data(as_text=True)[:200].lower() or "<!doctype" in \
            response.get_data(as_text=True)[:200].lower()
    assert ledger(session) == before


@pytest.mark.parametrize("item_id", ["99999999999999999999", TEN_DIGITS, "2147483648", "0", "00", "9" * 5000])
def test_ids_beyond_integer_in_urls_are_not_found(client, world, item_id):
    sign_in(client, "staff@a.example.com")
    a = world["a"].id
    for path in (f"/stores/{a}/count/{item_id}", f"/stores/{item_id}", f"/stores/{a}/deliveries/{item_id}",
                 f"/stores/{a}/transfers/{item_id}"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/stores/{a}/count/2147483647").status_code == 404  # the largest id: looked up, not found
    assert client.get(f"/stores/{a}").status_code == 200


def test_a_count_naming_a_product_by_sku_and_barcode_at_once_is_refused(client, world, session):
    sign_in(client, "staff@a.example.com")
    before = ledger(session)
    barcode = world["case"].barcode
    response = post(client, f"/stores/{world['a'].id}/count",
                    {"counted-RK-CASE": "5", f"counted-{barcode}": "4", "reason": "twice"})
    assert response.status_code == 422
    assert ledger(session) == before


# Item 7: one-time keys.

def _sale(client, world, key: str | None, **form):
    data = {"sku": "RK-CASE", "quantity": "1", **form}
    if key is not None:
        data["idempotency_key"] = key
    return post(client, f"/stores/{world['a'].id}/sale", data)


def test_every_writing_form_carries_a_fresh_key(client, world):
    sign_in(client, "staff@a.example.com")
    keys = set()
    for _ in range(2):
        page = client.get(f"/stores/{world['a'].id}/sale").get_data(as_text=True)
        keys.add(page.split('name="idempotency_key" value="')[1].split('"')[0])
    assert len(keys) == 2


def test_the_same_sale_posted_twice_is_recorded_once(client, world, session):
    sign_in(client, "staff@a.example.com")
    key = uuid.uuid4().hex
    first = _sale(client, world, key)
    assert first.status_code == 302
    again = _sale(client, world, key)
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/stores/{world['a'].id}/sale")
    assert "已记录：此表单之前已提交过，只记录了一次。" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert sales_recorded(session) == 1
    assert session.execute(select(func.count()).select_from(IdempotencyKey)).scalar_one() == 1


def test_the_same_key_with_another_form_is_refused(client, world, session):
    sign_in(client, "staff@a.example.com")
    key = uuid.uuid4().hex
    assert _sale(client, world, key).status_code == 302
    other = _sale(client, world, key, quantity="2")
    assert other.status_code == 422
    assert "此表单已用其他内容提交过：未做任何更改。" in other.get_data(as_text=True)
    assert sales_recorded(session) == 1


def test_posts_without_a_key_still_act_each_time(client, world, session):
    sign_in(client, "staff@a.example.com")
    assert _sale(client, world, None).status_code == 302
    assert _sale(client, world, None).status_code == 302
    assert sales_recorded(session) == 2


def test_a_refused_post_does_not_use_its_key(client, world, session):
    """A refusal rolls the key back with the verb: the same form, corrected, goes through."""
    sign_in(client, "staff@a.example.com")
    key = uuid.uuid4().hex
    assert _sale(client, world, key, quantity="99").status_code == 422  # only 5 in stock
    assert _sale(client, world, key, quantity="1").status_code == 302
    assert sales_recorded(session) == 1


def test_keys_are_per_person(app, client, world, session):
    sign_in(client, "staff@a.example.com")
    other = app.test_client()
    sign_in(other, "manager@a.example.com")
    key = uuid.uuid4().hex
    assert _sale(client, world, key).status_code == 302
    assert _sale(other, world, key).status_code == 302
    assert sales_recorded(session) == 2


def _writing_forms(world) -> list[tuple[str, dict]]:
    a = world["a"].id
    return [(f"/stores/{a}/missed", {"sku": "RK-CASE", "quantity": "1", "reason": "out_of_stock"}),
            (f"/stores/{a}/count", {"counted-RK-CASE": "4", "reason": "shelf"}),
            (f"/stores/{a}/demo", {"sku": "RK-CASE", "quantity": "1", "direction": "out"}),
            (f"/stores/{a}/sale", {"serials": "SN-A1"})]


def test_each_writing_form_posted_twice_acts_once(client, world, session):
    sign_in(client, "manager@a.example.com")
    for path, form in _writing_forms(world):
        key = uuid.uuid4().hex
        first = post(client, path, {**form, "idempotency_key": key})
        assert first.status_code == 302, (path, first.status_code)
        after_first = ledger(session)
        again = post(client, path, {**form, "idempotency_key": key})
        assert again.status_code == 303 and again.headers["Location"].endswith(path), path
        assert ledger(session) == after_first, path
    # a sale of a serial, then its return by sale number, each twice
    sale = session.execute(select(Movement).where(Movement.kind == "sale")).scalars().one()
    session.rollback()
    key = uuid.uuid4().hex
    assert post(client, f"/stores/{world['a'].id}/return", {"sale": str(sale.id), "idempotency_key": key}
                ).status_code == 302
    after_first = ledger(session)
    assert post(client, f"/stores/{world['a'].id}/return", {"sale": str(sale.id), "idempotency_key": key}
                ).status_code == 303
    assert ledger(session) == after_first


def test_a_post_only_action_sent_twice_leads_back_to_its_page(client, world, session):
    """Cancelling a transfer request (`.../transfers/<id>/cancel` has no page of its own) twice: the second
    answer leads to the request's page, like the first, and nothing more happens."""
    on_the_mainland(session, world["b"])
    t = transfers.request_transfer(session, world["staff"], store_id=world["a"].id, from_store_code="S0002",
                                   sku="RK-MAX2-BLK", quantity=1)
    sign_in(client, "staff@a.example.com")
    page, key = f"/stores/{world['a'].id}/transfers/{t.id}", uuid.uuid4().hex
    first = post(client, f"{page}/cancel", {"idempotency_key": key})
    assert first.status_code == 302 and first.headers["Location"].endswith(page)
    audit = session.execute(select(func.count()).select_from(AuditLog)).scalar_one()
    session.rollback()
    again = post(client, f"{page}/cancel", {"idempotency_key": key})
    assert again.status_code == 303 and again.headers["Location"].endswith(page)
    assert "已记录" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert session.execute(select(func.count()).select_from(AuditLog)).scalar_one() == audit


def _concurrent_twins(app, world, monkeypatch) -> list:
    """The same sale form (same key) posted twice at the same moment from two signed-in tabs of one person.
    Both requests pass the check before the view (no key recorded yet) and meet inside the verb."""
    tabs = [app.test_client(), app.test_client()]
    for tab in tabs:
        sign_in(tab, "staff@a.example.com")
    tokens = [csrf_token(tab, "/password") for tab in tabs]
    inside, sell = threading.Barrier(2, timeout=20), sales.sell

    def both_inside(*args, **kwargs):
        inside.wait()
        return sell(*args, **kwargs)

    monkeypatch.setattr(sales, "sell", both_inside)
    key, results = uuid.uuid4().hex, []

    def submit(tab, token):
        results.append(tab.post(f"/stores/{world['a'].id}/sale", data={
            "sku": "RK-CASE", "quantity": "1", "csrf_token": token, "idempotency_key": key}))

    threads = [threading.Thread(target=submit, args=pair) for pair in zip(tabs, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(r.status_code for r in results)


@pytest.mark.postgres
def test_the_same_sale_posted_twice_at_once_is_recorded_once(app, world, session, database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent requests need PostgreSQL")
    assert _concurrent_twins(app, world, monkeypatch) == [302, 303]
    assert sales_recorded(session) == 1


@pytest.mark.postgres
def test_negative_control_without_recording_the_key_the_twins_both_sell(app, world, session, database_url,
                                                                         monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent requests need PostgreSQL")
    monkeypatch.setattr(verbs_module, "_record_request_key", lambda session, request_key: None)
    assert _concurrent_twins(app, world, monkeypatch) == [302, 302]
    assert sales_recorded(session) == 2
