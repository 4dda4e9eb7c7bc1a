"""Product search as a Hong Kong clerk types it: brand names in Traditional script find the brands kept in
Simplified (華為 -> 华为), beside the Simplified and Latin names."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from retail.models import Brand, Product
from retail.services import products


def test_brands_are_found_in_both_chinese_scripts_and_in_latin(session):
    huawei = Brand(code="HUAWEI", name="Huawei", name_zh="华为")
    xiaomi = Brand(code="XIAOMI", name="Xiaomi", name_zh="小米")
    session.add_all([huawei, xiaomi])
    session.flush()
    for sku, brand in (("HW-EYE-BLK", huawei), ("XM-CAM-WHT", xiaomi)):
        session.add(Product(sku=sku, brand_id=brand.id, model=f"{brand.name} glasses", variant="black",
                            category="audio", list_price_cny=Decimal("999"), list_price_hkd=Decimal("1099"),
                            wholesale_cost=Decimal("600"), launch_date=date(2025, 1, 1)))
    session.commit()
    found = {q: [p.sku for p in products.search(session, query=q)] for q in ("華為", "华为", "huawei", "小米", "華為 black")}
    assert found == {"華為": ["HW-EYE-BLK"], "华为": ["HW-EYE-BLK"], "huawei": ["HW-EYE-BLK"], "小米": ["XM-CAM-WHT"],
                     "華為 black": ["HW-EYE-BLK"]}
    assert products.search(session, query="華為 white") == []
