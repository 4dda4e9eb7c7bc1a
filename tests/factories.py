"""Small worlds for service tests: a brand, products, a warehouse and two stores."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import Session

from retail.models import Brand, Location, Product, User


def small_world(session: Session) -> dict:
    brand = Brand(code="ROKID", name="Rokid", name_zh="若琪", lead_time_days=14, moq=10)
    session.add(brand)
    session.flush()
    glasses = Product(sku="RK-MAX2-BLK", brand_id=brand.id, model="Rokid Max 2", variant="black", category="ar",
                      barcode="6970000000017", list_price_cny=Decimal("2999"), list_price_hkd=Decimal("3299"),
                      wholesale_cost=Decimal("2100"), serialised=True, launch_date=date(2025, 3, 1))
    case = Product(sku="RK-CASE", brand_id=brand.id, model="Rokid carry case", variant="", category="ar",
                   barcode="6970000000024", list_price_cny=Decimal("199"), list_price_hkd=Decimal("219"),
                   wholesale_cost=Decimal("90"), serialised=False, pack_size=5, launch_date=date(2025, 3, 1))
    dc = Location(code="DC-SH", kind="dc", name="Shanghai DC", city="Shanghai")
    session.add_all([glasses, case, dc])
    session.flush()
    store_a = Location(code="S0001", name="上海徐汇店", city="Shanghai", province="Shanghai", city_tier=1,
                       partnership="franchise", dc_id=dc.id)
    store_b = Location(code="S0002", name="香港旺角店", city="Hong Kong", province="Hong Kong", city_tier=1,
                       market="HK", currency="HKD", timezone="Asia/Hong_Kong", partnership="consignment",
                       dc_id=dc.id)
    session.add_all([store_a, store_b])
    session.flush()
    staff = User(email="staff@a.example.com", name="A staff", role="store_staff", store_id=store_a.id)
    session.add(staff)
    session.commit()
    return {"brand": brand, "glasses": glasses, "case": case, "dc": dc, "a": store_a, "b": store_b,
            "staff": staff}


def on_the_mainland(session: Session, store: Location) -> Location:
    """Move a test store to the mainland market: transfers stay on one side of the border
    (services/transfers.request_transfer), and the small world's store B is in Hong Kong."""
    row = session.get(Location, store.id)  # the store may belong to another session of the test
    row.market = "CN"
    session.commit()
    return row
