"""Issue 10, item 5: `quantity=0` on the return form put every unit of the sale back, and `quantity=-1` on a
2-unit sale returned 1 (`[: quantity or sold]`); a missed sale of 10^12 units was stored and fed the
forecast. The verbs refuse them, whatever calls them; the form answers 422 with nothing written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from retail import errors
from retail.models import MissedSale, Movement
from retail.services import returns, sales
from tests.committing import inventory
from tests.factories import small_world


@pytest.fixture
def world(session):
    w = small_world(session)
    inventory.receive_purchase(session, location_id=w["a"].id, sku="RK-MAX2-BLK", quantity=2, serials=["SN1", "SN2"])
    inventory.receive_purchase(session, location_id=w["a"].id, sku="RK-CASE", quantity=3)
    w["sale_serialised"] = sales.sell(session, w["staff"], store_id=w["a"].id, serials="SN1 SN2")
    w["sale_cases"] = sales.sell(session, w["staff"], store_id=w["a"].id, sku="RK-CASE", quantity=2)
    return w


def returned(session) -> int:
    return session.execute(select(func.count()).select_from(Movement).where(Movement.kind == "return")).scalar_one()


@pytest.mark.parametrize("quantity", [0, -1, 10 ** 12])
@pytest.mark.parametrize("sale", ["sale_serialised", "sale_cases"])
def test_a_return_quantity_below_one_or_beyond_the_bound_is_refused(session, world, sale, quantity):
    with pytest.raises(errors.InvalidQuantity):
        returns.record_return(session, world["staff"], store_id=world["a"].id, sale_id=world[sale].id,
                              quantity=quantity)
    assert returned(session) == 0


def test_a_return_of_one_unit_of_two_returns_one(session, world):
    [movement] = returns.record_return(session, world["staff"], store_id=world["a"].id,
                                       sale_id=world["sale_serialised"].id, quantity=1)
    assert movement.quantity == 1 and returned(session) == 1


def test_a_missed_sale_of_a_trillion_units_is_refused(session, world):
    with pytest.raises(errors.InvalidQuantity):
        sales.record_missed_sale(session, world["staff"], store_id=world["a"].id, sku="RK-CASE", quantity=10 ** 12)
    assert session.execute(select(func.count()).select_from(MissedSale)).scalar_one() == 0
