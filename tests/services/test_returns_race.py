"""Issue 10, item 7: two concurrent returns of the last unit of a sale, on PostgreSQL (real connections, real
locks). `returns.record_return` locks the sale row (`SELECT ... FOR UPDATE` in `_sale_here`) before it reads
what was already returned against it: exactly one return wins, the other is told the sale is used up.

The reading of what was returned is slowed down (0.3 s) so that both requests are inside the window between
that read and their insert. The negative control takes the lock away: then both returns pass, which is the
race the lock closes (and shows that this test sees it).
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.db import make_engine, new_session
from retail.models import Movement, MovementKind, StockBalance
from retail.services import returns
from tests.committing import inventory
from tests.factories import small_world

pytestmark = pytest.mark.postgres
WINDOW = 0.3


@pytest.fixture
def database_url(postgres_url) -> str:
    return postgres_url


@pytest.fixture
def world(session):
    world = small_world(session)
    a = world["a"].id
    inventory.receive_purchase(session, location_id=a, sku="RK-CASE", quantity=3)
    inventory.receive_purchase(session, location_id=a, sku="RK-MAX2-BLK", quantity=1, serials=["SN1"])
    world["case_sale"] = inventory.record_sale(session, store_id=a, sku="RK-CASE", quantity=1, reference="R-1")
    world["glasses_sale"] = inventory.record_sale(session, store_id=a, sku="RK-MAX2-BLK", serials=["SN1"])
    return world


@pytest.fixture
def slow_read(monkeypatch):
    """What was returned is read, then the request lingers before it writes its own return."""
    read = returns.returned_against

    def slowly(session, sale_id):
        found = read(session, sale_id)
        time.sleep(WINDOW)
        return found

    monkeypatch.setattr(returns, "returned_against", slowly)


def at_once(database_url, actor, attempts: int, **return_) -> list:
    """`attempts` returns at the same moment, each on its own connection: the movements or the refusal."""
    engine = make_engine(database_url, pool_size=attempts + 1)
    barrier, outcomes = threading.Barrier(attempts), []

    def attempt():
        session = new_session(engine)
        barrier.wait()
        try:
            outcomes.append(returns.record_return(session, actor, **return_))
        except errors.DomainError as refused:
            outcomes.append(refused)
        finally:
            session.close()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    engine.dispose()
    return outcomes


def returned(session, sale_id) -> int:
    return session.execute(select(func.coalesce(func.sum(Movement.quantity), 0)).where(
        Movement.kind == MovementKind.return_, Movement.reference == returns.sale_reference(sale_id))).scalar_one()


def on_hand(session, world, product) -> int:
    return session.get(StockBalance, (world["a"].id, world[product].id), populate_existing=True).on_hand


def test_two_returns_of_the_last_unit_of_a_sale_one_wins(session, world, database_url, slow_read):
    sale = world["case_sale"]
    outcomes = at_once(database_url, world["staff"], 2, store_id=world["a"].id, sale_id=sale.id, quantity=1)
    refused = [o for o in outcomes if isinstance(o, errors.DomainError)]
    assert len(outcomes) == 2 and len(refused) == 1
    assert refused[0].code == "return_exceeds_sale" and refused[0].params["returned"] == 1
    assert returned(session, sale.id) == 1 and on_hand(session, world, "case") == 3


def test_two_returns_by_the_same_receipt_one_wins(session, world, database_url, slow_read):
    outcomes = at_once(database_url, world["staff"], 2, store_id=world["a"].id, receipt="R-1", quantity=1)
    assert sum(isinstance(o, errors.ReturnExceedsSale) for o in outcomes) == 1
    assert returned(session, world["case_sale"].id) == 1 and on_hand(session, world, "case") == 3


def test_two_returns_of_the_same_serial_one_wins(session, world, database_url, slow_read):
    sale = world["glasses_sale"]
    outcomes = at_once(database_url, world["staff"], 2, store_id=world["a"].id, serials="SN1")
    refused = [o for o in outcomes if isinstance(o, errors.DomainError)]
    assert len(outcomes) == 2 and len(refused) == 1
    assert refused[0].code in ("return_exceeds_sale", "serial_not_here")
    assert returned(session, sale.id) == 1 and on_hand(session, world, "glasses") == 1


def test_negative_control_without_the_lock_both_returns_pass(session, world, database_url, slow_read,
                                                             monkeypatch):
    """The same race with `_sale_here` reading the sale without `FOR UPDATE`: both pass, the sale of one
    unit is returned twice and the stock rises by two."""

    def unlocked(session, store_id, sale_id):
        sale = session.get(Movement, sale_id)
        if sale is None or sale.kind != MovementKind.sale or sale.location_id != store_id:
            raise errors.NotFound(what="Sale", key=sale_id)
        return sale

    monkeypatch.setattr(returns, "_sale_here", unlocked)
    sale = world["case_sale"]
    outcomes = at_once(database_url, world["staff"], 2, store_id=world["a"].id, sale_id=sale.id, quantity=1)
    assert not [o for o in outcomes if isinstance(o, errors.DomainError)]
    assert returned(session, sale.id) == 2 and on_hand(session, world, "case") == 4
