"""Counts that try to change stock without the approval they need (issue 10, items 4 and 7).

- A write-off split into small counts (one unit short, again and again) still reaches the manager: the
  large-difference threshold adds up the count adjustments made without a manager over
  `counts.LARGE_DIFFERENCE_PERIOD`, per store x SKU, serialised SKUs included (one serial left unscanned).
- A count cannot be replayed: a SKU with a count waiting for a manager cannot be counted again
  (`count_pending`), also when two counts race, so an approval applies its counted difference once.
- Approving a count applies a delta under the balance row's lock: a sale committed meanwhile is kept
  (PostgreSQL, two threads, with a negative control that shows the race the harness opens).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select, update

from retail import errors
from retail.db import new_session
from retail.models import Movement, Product, StockBalance, StockCount, StockCountLine, User, utcnow
from retail.services import counts, sales
from tests.committing import inventory
from tests.factories import small_world

LITE_SERIALS = [f"LT{n}" for n in range(1, 9)]


@pytest.fixture
def world(session):
    w = small_world(session)
    w["manager"] = User(email="manager@a.example.com", name="A manager", role="store_manager", store_id=w["a"].id)
    # A serialised SKU cheap enough that one unit alone is not a large difference (CNY 500 at cost).
    w["lite"] = Product(sku="RK-LITE", brand_id=w["brand"].id, model="Rokid Lite", variant="", category="ar",
                        list_price_cny=Decimal("899"), list_price_hkd=Decimal("999"), wholesale_cost=Decimal("500"),
                        serialised=True, launch_date=date(2025, 3, 1))
    session.add_all([w["manager"], w["lite"]])
    session.commit()
    inventory.receive_purchase(session, location_id=w["a"].id, sku="RK-CASE", quantity=10)
    inventory.receive_purchase(session, location_id=w["a"].id, sku="RK-LITE", quantity=len(LITE_SERIALS),
                               serials=LITE_SERIALS)
    return w


def on_hand(session, world, product="case") -> int:
    balance = session.get(StockBalance, (world["a"].id, world[product].id), populate_existing=True)
    return balance.on_hand if balance else 0


def count_cases(session, world, counted: int, *, actor="staff", at=None) -> StockCount:
    return counts.submit_count(session, world[actor], store_id=world["a"].id, counted={"RK-CASE": counted},
                               reason="daily count", at=at)


def statuses(session) -> list[str]:
    return list(session.execute(select(StockCount.status).order_by(StockCount.id)).scalars())


def adjustments(session) -> int:
    return session.execute(select(func.count()).select_from(Movement).where(
        Movement.kind == "count_adjustment")).scalar_one()


# Item 4: the threshold adds up over the period, per store x SKU.
def test_one_unit_short_again_and_again_needs_a_manager_by_the_third_unit(session, world):
    for counted in (9, 8, 7):  # each count alone is one unit (CNY 90) short: small
        count_cases(session, world, counted)
    assert statuses(session) == ["applied", "applied", "pending_approval"]
    assert on_hand(session, world) == 8  # the third unit waits for the manager
    counts.decide_count(session, world["manager"], store_id=world["a"].id,
                        count_id=session.execute(select(func.max(StockCount.id))).scalar_one(), approve=True)
    assert on_hand(session, world) == 7


def test_one_serial_left_unscanned_again_and_again_needs_a_manager(session, world):
    shelf = list(LITE_SERIALS)
    for _ in range(3):  # each count leaves one more serial unscanned: one unit (CNY 500) missing each time
        shelf.pop()
        counts.submit_count(session, world["staff"], store_id=world["a"].id, counted={}, reason="daily count",
                            serials={"RK-LITE": "\n".join(shelf)})
    assert statuses(session) == ["applied", "applied", "pending_approval"]
    assert on_hand(session, world, "lite") == len(LITE_SERIALS) - 2


def test_the_value_threshold_adds_up_too(session, world):
    session.execute(update(Product).where(Product.id == world["case"].id).values(wholesale_cost=Decimal("1000")))
    session.commit()
    count_cases(session, world, 9)  # CNY 1,000: small
    count_cases(session, world, 8)  # CNY 2,000 over the period: large
    assert statuses(session) == ["applied", "pending_approval"]


def test_only_adjustments_of_the_period_and_without_a_manager_add_up(session, world):
    long_ago = utcnow() - counts.LARGE_DIFFERENCE_PERIOD - timedelta(days=1)
    count_cases(session, world, 9, at=long_ago)
    count_cases(session, world, 8, at=long_ago)
    count_cases(session, world, 4, actor="manager")  # the manager's own count: vetted, applied at once
    count_cases(session, world, 3)  # one unit without a manager within the period
    count_cases(session, world, 3)  # the shelf agrees: never held, whatever was adjusted before
    assert statuses(session) == ["applied"] * 5
    assert on_hand(session, world) == 3


# Item 4: approvals cannot be split or replayed.
def test_a_count_waiting_for_a_manager_cannot_be_sent_again_and_is_applied_once(session, world):
    refusals = []
    for _ in range(3):  # the same count of 3 missing, sent three times
        try:
            count_cases(session, world, 7)
        except errors.DomainError as refused:
            session.rollback()
            refusals.append(refused)
    for count_id in session.execute(select(StockCount.id).where(StockCount.status == "pending_approval")).scalars():
        counts.decide_count(session, world["manager"], store_id=world["a"].id, count_id=count_id, approve=True)
    assert on_hand(session, world) == 7  # 10 - 3 once, not 10 - 3 x 3
    assert [r.code for r in refusals] == ["count_pending", "count_pending"]
    first = session.execute(select(StockCount.id)).scalars().first()
    assert refusals[0].params == {"sku": "RK-CASE", "count": first}
    assert adjustments(session) == 1


def test_a_pending_sku_cannot_be_counted_by_anyone_until_decided(session, world):
    held = count_cases(session, world, 7)
    with pytest.raises(errors.CountPending):  # a small difference of the same SKU: refused too
        count_cases(session, world, 9)
    session.rollback()
    with pytest.raises(errors.CountPending):  # the manager decides the held count first
        count_cases(session, world, 6, actor="manager")
    session.rollback()
    with pytest.raises(errors.CountPending):  # in a count of several SKUs: the whole count is refused
        counts.submit_count(session, world["staff"], store_id=world["a"].id, counted={"RK-CASE": 7},
                            serials={"RK-LITE": "\n".join(LITE_SERIALS)}, reason="count")
    session.rollback()
    assert statuses(session) == ["pending_approval"] and adjustments(session) == 0
    counts.decide_count(session, world["manager"], store_id=world["a"].id, count_id=held.id, approve=False)
    count_cases(session, world, 9)  # decided: the SKU may be counted again
    assert statuses(session) == ["rejected", "applied"] and on_hand(session, world) == 9


def test_approval_applies_the_counted_difference_to_the_stock_of_now(session, world):
    held = count_cases(session, world, 6)  # 4 missing
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE", quantity=2)
    inventory.receive_purchase(session, location_id=world["a"].id, sku="RK-CASE", quantity=5)
    counts.decide_count(session, world["manager"], store_id=world["a"].id, count_id=held.id, approve=True)
    assert on_hand(session, world) == 10 - 2 + 5 - 4
    with pytest.raises(errors.CountClosed):  # once
        counts.decide_count(session, world["manager"], store_id=world["a"].id, count_id=held.id, approve=True)
    session.rollback()
    assert on_hand(session, world) == 9


def test_approval_takes_the_stock_no_lower_than_zero(session, world):
    held = count_cases(session, world, 2)  # 8 missing
    inventory.record_sale(session, store_id=world["a"].id, sku="RK-CASE", quantity=5)
    counts.decide_count(session, world["manager"], store_id=world["a"].id, count_id=held.id, approve=True)
    assert on_hand(session, world) == 0
    assert session.execute(select(func.sum(Movement.quantity)).where(
        Movement.location_id == world["a"].id, Movement.product_id == world["case"].id)).scalar_one() == 0


# Concurrency, on PostgreSQL (SQLite takes the write lock at BEGIN).
POSTGRES = pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                                   indirect=True)


@POSTGRES
def test_two_identical_counts_at_once_leave_one_waiting(engine, world):
    ids = world["a"].id, world["staff"].id
    barrier = threading.Barrier(2)

    def submit(_):
        with new_session(engine) as session:
            actor = session.get(User, ids[1])
            barrier.wait()
            try:
                counts.submit_count(session, actor, store_id=ids[0], counted={"RK-CASE": 7}, reason="count")
                return "held"
            except errors.CountPending:
                return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(submit, range(2)))
    assert outcomes == ["held", "refused"]


def race_sale_with_approval(engine, approve, sell, *, window_seconds: float = 1.0) -> dict:
    """Run `approve(session)` in one thread; as soon as it has read the store's balance (its first SELECT of
    stock_balance), `sell(session)` starts in another thread, and the approval waits until the sale has
    committed or `window_seconds` have passed, then goes on. Returns whether the sale committed inside the
    window (it may not, when the approval holds the balance row's lock)."""
    approver, window, sold, inside = [], threading.Event(), threading.Event(), []

    def after_execute(conn, cursor, statement, parameters, context, executemany):
        if (approver and threading.get_ident() == approver[0] and not window.is_set()
                and statement.lstrip().upper().startswith("SELECT") and "stock_balance" in statement):
            window.set()
            inside.append(sold.wait(timeout=window_seconds))

    def approving():
        approver.append(threading.get_ident())
        with new_session(engine) as session:
            approve(session)

    def selling():
        assert window.wait(timeout=10), "the approval never read the balance"
        with new_session(engine) as session:
            sell(session)
        sold.set()

    event.listen(engine, "after_cursor_execute", after_execute)
    try:
        with ThreadPoolExecutor(2) as pool:
            for result in [pool.submit(approving), pool.submit(selling)]:
                result.result(timeout=30)
    finally:
        event.remove(engine, "after_cursor_execute", after_execute)
    return {"sale_inside_window": inside == [True]}


@pytest.fixture
def held_count(session, world):
    held = count_cases(session, world, 7)  # 3 missing: waits for the manager
    return {"store": world["a"].id, "count": held.id, "manager": world["manager"].id, "staff": world["staff"].id,
            "case": world["case"].id}


def sell_one_case(ids):
    def sell(session):
        sales.sell(session, session.get(User, ids["staff"]), store_id=ids["store"], sku="RK-CASE", quantity=1)
    return sell


@POSTGRES
def test_a_sale_committed_while_a_count_is_approved_is_kept(engine, held_count):
    ids = held_count

    def approve(session):
        counts.decide_count(session, session.get(User, ids["manager"]), store_id=ids["store"],
                            count_id=ids["count"], approve=True)

    race = race_sale_with_approval(engine, approve, sell_one_case(ids))
    with new_session(engine) as session:
        balance = session.get(StockBalance, (ids["store"], ids["case"]))
        ledger_sum = session.execute(select(func.sum(Movement.quantity)).where(
            Movement.location_id == ids["store"], Movement.product_id == ids["case"])).scalar_one()
        sold = session.execute(select(func.count()).select_from(Movement).where(Movement.kind == "sale")).scalar_one()
    assert sold == 1
    assert balance.on_hand == 10 - 3 - 1 == ledger_sum  # the sale and the count's 3 missing units, both
    assert race["sale_inside_window"] is False  # the sale waited for the approval's lock on the balance


@POSTGRES
def test_negative_control_an_approval_that_reads_then_writes_an_absolute_value_erases_the_sale(engine, held_count):
    """The old approval (read the balance unlocked, write `on_hand + counted - expected`) in the same harness:
    the sale commits inside the window and is erased, or the test above proves nothing."""
    ids = held_count

    def naive_approve(session):
        line = session.execute(select(StockCountLine).where(StockCountLine.count_id == ids["count"])).scalar_one()
        balance = session.get(StockBalance, (ids["store"], ids["case"]))
        now = balance.on_hand + line.counted - line.expected
        session.execute(update(StockBalance).where(StockBalance.location_id == ids["store"],
                                                   StockBalance.product_id == ids["case"]).values(on_hand=now))
        session.commit()

    race = race_sale_with_approval(engine, naive_approve, sell_one_case(ids))
    with new_session(engine) as session:
        balance = session.get(StockBalance, (ids["store"], ids["case"]))
    assert race["sale_inside_window"] is True
    assert balance.on_hand == 10 - 3  # the sale of one case is gone from the balance


# The refusal, as the count page shows it in the reader's language.
@pytest.fixture
def shop(session):
    from tests.web.factories import shop_world

    return shop_world(session)  # store A holds 5 RK-CASE; staff and manager of A read zh_Hans, the planner en


def test_a_second_count_of_a_sku_waiting_for_a_manager_is_refused_on_the_page(app, client, shop, session):
    from tests.web.factories import post, sign_in

    a = shop["a"].id
    sign_in(client, "staff@a.example.com")
    form = {"counted-RK-CASE": "1", "reason": "weekly count"}
    assert post(client, f"/stores/{a}/count", form).status_code == 302  # 4 missing: waits for the manager
    again = post(client, f"/stores/{a}/count", form)
    page = again.get_data(as_text=True)
    assert again.status_code == 422 and 'name="counted-RK-CASE" value="1"' in page
    held = session.execute(select(StockCount.id)).scalar_one()
    session.rollback()
    assert f"盘点 {held} 中的 RK-CASE 正在等待店长审批：店长批准或驳回之前，RK-CASE 不能再次盘点。" in page
    planner = app.test_client()
    sign_in(planner, "planner@example.com")
    english = post(planner, f"/stores/{a}/count", {"counted-RK-CASE": "5", "reason": "recount"})
    assert english.status_code == 422
    assert (f"Count {held} of RK-CASE is waiting for a manager's decision: RK-CASE cannot be counted again until "
            "the manager approves or rejects it." in english.get_data(as_text=True).replace("&#39;", "'"))
    assert session.execute(select(func.count()).select_from(StockCount)).scalar_one() == 1
    assert on_hand(session, shop) == 5
    session.rollback()
