"""The shop world (tests/web/factories.shop_world) plus what the endless aisle needs: a model store A only
shows (an approved `show` range row, a demo unit on display), held by store C of the same city (Shanghai),
whose staff signs in too."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from retail.models import Location, Product, StoreRange, User
from tests.committing import inventory
from tests.web.factories import shop_world

SHOW_SKU = "RK-STATION2"


def endless_aisle_world(session) -> dict:
    world = shop_world(session)
    c = Location(code="S0030", name="上海静安店", city="Shanghai", city_zh="上海", province="Shanghai", city_tier=1,
                 partnership="franchise", dc_id=world["dc"].id)
    station = Product(sku=SHOW_SKU, brand_id=world["brand"].id, model="Rokid Station 2", variant="grey",
                      category="ar", list_price_cny=Decimal("2499"), list_price_hkd=Decimal("2699"),
                      wholesale_cost=Decimal("1700"), serialised=True, launch_date=date(2025, 9, 1))
    session.add_all([c, station])
    session.flush()
    staff_c = User(email="staff@c.example.com", name="C staff", role="store_staff", store_id=c.id,
                   password_hash=session.get(User, world["staff"].id).password_hash)
    session.add(staff_c)
    monday = date(2026, 1, 5)
    extra = {"week": monday} if "week" in StoreRange.model_fields else {}  # the ranging model's proposal week
    session.add(StoreRange(location_id=world["a"].id, product_id=station.id, decision="show", status="approved",
                           reason="range_sells_to_order", valid_from=monday, **extra))
    session.commit()
    inventory.receive_purchase(session, location_id=world["a"].id, sku=SHOW_SKU, quantity=1, serials=["ST-DEMO"],
                               reference="PO-DEMO")
    inventory.move_demo(session, store_id=world["a"].id, sku=SHOW_SKU, quantity=1, to_display=True,
                        serials=["ST-DEMO"])
    inventory.receive_purchase(session, location_id=c.id, sku=SHOW_SKU, quantity=3,
                               serials=["ST-C1", "ST-C2", "ST-C3"], reference="PO-C")
    world.update(c=c, station=station, staff_c=staff_c)
    return world
