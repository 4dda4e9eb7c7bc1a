"""Two tills selling the last unit at the same moment, on PostgreSQL (several connections, real locks)."""
from __future__ import annotations

import threading

import pytest

from retail.models import StockBalance
from tests.web.factories import sign_in


@pytest.fixture
def database_url(postgres_url) -> str:
    return postgres_url


def on_hand(session, world, store, product) -> int:
    return session.get(StockBalance, (world[store].id, world[product].id), populate_existing=True).on_hand


@pytest.mark.postgres
def test_two_tills_selling_the_last_unit_at_once(app, world, session):
    """One succeeds; the other is told, in its own language, that the unit is gone; stock ends at zero."""
    from tests.committing import inventory

    inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE", quantity=4)
    tills = {"staff@a.example.com": app.test_client(), "planner@example.com": app.test_client()}
    for email, client in tills.items():
        sign_in(client, email)
    tokens = {email: client.get("/password").get_data(as_text=True).split('name="csrf_token" value="')[1]
              .split('"')[0] for email, client in tills.items()}
    barrier, results = threading.Barrier(2), {}

    def sell(email):
        barrier.wait()
        results[email] = tills[email].post(f"/stores/{world['a'].id}/sale",
                                           data={"sku": "RK-CASE", "quantity": "1", "csrf_token": tokens[email]})

    threads = [threading.Thread(target=sell, args=(email,)) for email in tills]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results.values())
    assert codes == [302, 422]
    loser, page = next((e, r.get_data(as_text=True)) for e, r in results.items() if r.status_code == 422)
    expected = {"staff@a.example.com": "仅剩 0 件，需要 1 件",
                "planner@example.com": "Only 0 of RK-CASE in stock at S0001; 1 requested."}[loser]
    assert expected in page
    assert on_hand(session, world, "a", "case") == 0
