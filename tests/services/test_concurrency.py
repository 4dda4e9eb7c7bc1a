"""Many workers racing for the last units: the database, not Python, decides who gets them."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from retail import errors
from retail.db import new_session
from retail.models import Movement, StockBalance, User
from retail.services import sales as selling
from tests.committing import inventory
from tests.factories import small_world

BUYERS = 20


def race(engine, sell) -> list[str]:
    barrier = threading.Barrier(BUYERS)

    def buyer(_):
        with new_session(engine) as session:
            barrier.wait()
            try:
                sell(session)
                return "sold"
            except errors.InsufficientStock as refused:
                session.rollback()
                return str(refused)

    with ThreadPoolExecutor(BUYERS) as pool:
        return list(pool.map(buyer, range(BUYERS)))


@pytest.fixture
def five_left(engine):
    with new_session(engine) as session:
        world = small_world(session)
        inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=5)
        return world["a"].id, world["case"].id, world["staff"].id


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"],
                         indirect=True)
def test_exactly_five_of_twenty_concurrent_buyers_get_the_last_five_units(engine, five_left):
    """Through the verb, as every till sells: each buyer reads first (its actor), then the verb's unit of
    work begins as a write (SQLite: the read snapshot ends, BEGIN IMMEDIATE waits its turn)."""
    store_id, product_id, staff_id = five_left
    outcomes = race(engine, lambda s: selling.sell(s, s.get(User, staff_id), store_id=store_id, sku="RK-CASE"))
    assert outcomes.count("sold") == 5
    refusals = [o for o in outcomes if o != "sold"]
    assert len(refusals) == 15 and all(o.startswith("Only 0 of RK-CASE in stock at S0001") for o in refusals)
    with new_session(engine) as session:
        assert session.get(StockBalance, (store_id, product_id)).on_hand == 0
        sales = session.execute(select(Movement).where(Movement.kind == "sale")).scalars().all()
        assert len(sales) == 5


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_negative_control_read_modify_write_oversells(engine, five_left):
    """The same race with a naive read-then-write sale: it must oversell, or the race above proves nothing."""
    store_id, product_id, _staff_id = five_left

    def naive_sale(session):
        balance = session.get(StockBalance, (store_id, product_id))
        if balance.on_hand < 1:
            raise errors.InsufficientStock(sku="RK-CASE", location="S0001", available=0, requested=1)
        seen = balance.on_hand
        time.sleep(0.05)  # the window every real request has between its read and its write
        session.execute(update(StockBalance).where(StockBalance.location_id == store_id,
                                                   StockBalance.product_id == product_id).values(on_hand=seen - 1))
        session.commit()

    outcomes = race(engine, naive_sale)
    assert outcomes.count("sold") > 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_writes_outside_a_verb_also_serialise_on_sqlite(engine, five_left):
    """Outside a verb's unit of work a transaction begins DEFERRED (page reads never wait for a writer); the
    ledger primitive called that way (a batch job, these test helpers) reads, then writes: its first write
    ends the read snapshot and begins again with BEGIN IMMEDIATE (retail/db.py), so twenty of them racing
    for five units still sell exactly five, and none fails with "database is locked"."""
    store_id, _product_id, _staff_id = five_left

    def outside_a_verb(session):
        try:
            inventory.record_sale(session, store_id=store_id, sku="RK-CASE")
        except OperationalError as failed:
            raise errors.InsufficientStock(sku="locked", location=str(failed.orig), available=0, requested=1) from None

    outcomes = race(engine, outside_a_verb)
    assert outcomes.count("sold") == 5 and not any("database is locked" in o for o in outcomes)
