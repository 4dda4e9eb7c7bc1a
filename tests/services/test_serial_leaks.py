"""Issue 10, item 13: a store learns nothing about serials outside its own stock and sales.

Store B's staff tries to sell, return or import a return of serials that are in stock at store A, in stock at
the warehouse, sold by store A, or unknown: every case answers the one refusal `serial_not_here`, naming
only the serial typed (no store, no SKU, no state), on SQLite and PostgreSQL. Nothing moves.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.models import Movement, User
from retail.services import pos_import, returns, sales
from tests.committing import inventory
from tests.factories import small_world

# Where each serial is, seen from store B: none of them is B's.
ELSEWHERE = {
    "SN-A-STOCK": "in stock at store A",
    "SN-A-SOLD": "sold by store A",
    "SN-D-STOCK": "in stock at the warehouse",
    "SN-NOWHERE": "unknown",
}


@pytest.fixture
def world(session):
    world = small_world(session)
    a, b, dc = world["a"], world["b"], world["dc"]
    inventory.receive_purchase(session, location_id=a.id, sku="RK-MAX2-BLK", quantity=2,
                               serials=["SN-A-STOCK", "SN-A-SOLD"])
    inventory.receive_purchase(session, location_id=dc.id, sku="RK-MAX2-BLK", quantity=1, serials=["SN-D-STOCK"])
    inventory.receive_purchase(session, location_id=b.id, sku="RK-MAX2-BLK", quantity=2,
                               serials=["SN-B1", "SN-B2"])
    world["sale_a"] = inventory.record_sale(session, store_id=a.id, sku="RK-MAX2-BLK", serials=["SN-A-SOLD"])
    world["sale_b"] = inventory.record_sale(session, store_id=b.id, sku="RK-MAX2-BLK", serials=["SN-B2"])
    staff_b = User(email="staff@b.example.com", name="B staff", role="store_staff", store_id=b.id)
    session.add(staff_b)
    session.commit()
    world["staff_b"] = staff_b
    return world


def movements(session) -> int:
    return session.execute(select(func.count()).select_from(Movement)).scalar_one()


def refusal(session, attempt) -> tuple[str, dict, str]:
    before = movements(session)
    with pytest.raises(errors.DomainError) as refused:
        attempt()
    session.rollback()
    assert movements(session) == before
    return refused.value.code, refused.value.params, str(refused.value)


def assert_tells_nothing(answers: dict[str, tuple[str, dict, str]]) -> None:
    for serial, (code, params, text) in answers.items():
        assert code == "serial_not_here", (serial, ELSEWHERE[serial], code)
        assert params == {"serial": serial}, (serial, ELSEWHERE[serial], params)
        assert text == f"Serial number {serial} is not a unit of this store for this: check the number."


def test_a_return_of_any_serial_not_sold_here_gets_one_answer(session, world):
    b = world["b"].id
    answers = {serial: refusal(session, lambda s=serial: returns.record_return(
        session, world["staff_b"], store_id=b, serials=s)) for serial in ELSEWHERE}
    assert_tells_nothing(answers)


def test_naming_the_other_stores_sale_tells_nothing_either(session, world):
    b, sale_a = world["b"].id, world["sale_a"].id
    code, params, _text = refusal(session, lambda: returns.record_return(
        session, world["staff_b"], store_id=b, serials="SN-A-SOLD", sale_id=sale_a))
    assert (code, params) == ("serial_not_here", {"serial": "SN-A-SOLD"})
    code, params, _text = refusal(session, lambda: returns.record_return(
        session, world["staff_b"], store_id=b, sale_id=sale_a))
    assert code == "not_found"  # another store's sale is not found from here, like one that does not exist
    code, params, _text = refusal(session, lambda: returns.record_return(
        session, world["staff_b"], store_id=b, sale_id=world["sale_b"].id + 1000))
    assert code == "not_found"


def test_the_ledger_refuses_a_return_of_another_stores_sale_with_the_same_answer(session, world):
    b = world["b"].id
    answers = {serial: refusal(session, lambda s=serial: inventory.record_return(
        session, store_id=b, sku="RK-MAX2-BLK", serials=[s])) for serial in ELSEWHERE}
    assert_tells_nothing(answers)


@pytest.mark.parametrize("by_sku", [True, False], ids=["by-sku", "by-scan"])
def test_a_sale_of_any_serial_not_in_stock_here_gets_one_answer(session, world, by_sku):
    b = world["b"].id
    answers = {serial: refusal(session, lambda s=serial: sales.sell(
        session, world["staff_b"], store_id=b, sku="RK-MAX2-BLK" if by_sku else "", serials=s))
        for serial in ELSEWHERE}
    assert_tells_nothing(answers)


def test_a_scan_with_a_quantity_that_does_not_match_tells_nothing_either(session, world):
    """Selling by scan takes the SKU from the serial only when it is a unit in stock here: a serial in stock
    at store A, scanned at B with quantity 2, gets the same answer as an unknown one (not serials_required
    naming A's SKU)."""
    b = world["b"].id
    answers = {serial: refusal(session, lambda s=serial: sales.sell(
        session, world["staff_b"], store_id=b, serials=s, quantity=2)) for serial in ELSEWHERE}
    assert_tells_nothing(answers)


def test_a_pos_return_row_of_any_serial_not_sold_here_gets_one_row_error(session, world):
    b = world["b"].id
    answers = {}
    for serial in ELSEWHERE:
        content = ("date,sku,quantity,serials,unit_price,type,receipt\n"
                   f"2026-11-20 14:05,RK-MAX2-BLK,1,{serial},3299.00,return,R-1\n").encode()
        preview = pos_import.preview(session, world["staff_b"], store_id=b, filename="till.csv", content=content)
        session.rollback()
        [error] = preview.errors
        answers[serial] = (error.code, error.params, error.message.removeprefix("Row 2: "))
    assert_tells_nothing(answers)


def test_own_sales_still_come_back(session, world):
    [movement] = returns.record_return(session, world["staff_b"], store_id=world["b"].id, serials="SN-B2")
    assert movement.quantity == 1 and movement.reference == f"SALE-{world['sale_b'].id}"
