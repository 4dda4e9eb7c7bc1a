"""A small world for customer orders: store A (Shanghai) orders; store C (Shanghai) and the DC can send; store B
(Hong Kong) and store D (Shanghai, no stock) are outsiders; a planner ships from the DC."""
from __future__ import annotations

from sqlalchemy import func, select

from retail.models import CustomerOrderEvent, Location, Movement, StockBalance, User
from tests.committing import inventory
from tests.factories import small_world


def build(session) -> dict:
    world = small_world(session)
    c = Location(code="S0003", name="上海静安店", city="Shanghai", province="Shanghai", city_tier=1,
                 partnership="franchise", dc_id=world["dc"].id)
    d = Location(code="S0004", name="上海浦东店", city="Shanghai", province="Shanghai", city_tier=1,
                 partnership="franchise", dc_id=world["dc"].id)
    session.add_all([c, d])
    session.flush()
    people = {"staff_b": User(email="staff@b.example.com", name="B staff", role="store_staff", store_id=world["b"].id),
              "staff_c": User(email="staff@c.example.com", name="C staff", role="store_staff", store_id=c.id),
              "staff_d": User(email="staff@d.example.com", name="D staff", role="store_staff", store_id=d.id),
              "planner": User(email="planner@example.com", name="Planner", role="planner")}
    session.add_all(people.values())
    session.commit()
    world.update(people, c=c, d=d)
    inventory.receive_purchase(session, location_id=c.id, sku="RK-MAX2-BLK", quantity=3,
                               serials=["SN-C1", "SN-C2", "SN-C3"], reference="PO-C")
    inventory.receive_purchase(session, location_id=world["dc"].id, sku="RK-MAX2-BLK", quantity=2,
                               serials=["SN-D1", "SN-D2"], reference="PO-DC")
    return world


def balance(session, location, product) -> tuple[int, int, int]:
    """(on_hand, reserved, in_transit) of a location and product, read fresh."""
    session.expire_all()
    row = session.get(StockBalance, (location.id if hasattr(location, "id") else location,
                                     product.id if hasattr(product, "id") else product))
    return (row.on_hand, row.reserved, row.in_transit) if row else (0, 0, 0)


def ledger_sum(session, location_id: int, product_id: int) -> int:
    return session.execute(select(func.coalesce(func.sum(Movement.quantity), 0)).where(
        Movement.location_id == location_id, Movement.product_id == product_id)).scalar_one()


def history(session, order_id: int) -> list[str]:
    return list(session.execute(select(CustomerOrderEvent.to_state).where(CustomerOrderEvent.order_id == order_id)
                                .order_by(CustomerOrderEvent.id)).scalars())
