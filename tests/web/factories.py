"""A small shop world for the web tests: two stores with stock, people of every role, deliveries."""
from __future__ import annotations

import functools
import re
from datetime import timedelta

from sqlmodel import Session

from retail.models import User, utcnow
from retail.services import accounts
from tests.committing import inventory, shipments
from tests.factories import small_world

PASSWORD = "correct-horse-battery"


@functools.cache
def password_hash() -> str:
    return accounts.hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per test process


def shop_world(session: Session) -> dict:
    """small_world plus: stock in both stores, a delivery on its way to each, and people:
    staff and manager of A (zh_Hans), staff of B (zh_Hant), a planner, an admin (en), a brand partner."""
    world = small_world(session)
    a, b, dc = world["a"], world["b"], world["dc"]
    world["staff"].password_hash = password_hash()
    people = {
        "manager": User(email="manager@a.example.com", name="A manager", role="store_manager", store_id=a.id),
        "staff_b": User(email="staff@b.example.com", name="B staff", role="store_staff", store_id=b.id,
                        language="zh_Hant"),
        "planner": User(email="planner@example.com", name="Planner", role="planner", language="en"),
        "admin": User(email="admin@example.com", name="Admin", role="admin", language="en"),
        "partner": User(email="partner@rokid.example.com", name="Rokid", role="brand_partner",
                        brand_id=world["brand"].id, language="en"),
    }
    for user in people.values():
        user.password_hash = password_hash()
        session.add(user)
    session.commit()
    world.update(people)
    earlier = utcnow() - timedelta(days=120)
    inventory.receive_purchase(session, location_id=a.id, sku="RK-MAX2-BLK", quantity=3,
                               serials=["SN-A1", "SN-A2", "SN-A3"], reference="PO-A", at=earlier)
    inventory.receive_purchase(session, location_id=a.id, sku="RK-CASE", quantity=5, reference="PO-A2", at=earlier)
    inventory.receive_purchase(session, location_id=b.id, sku="RK-MAX2-BLK", quantity=2,
                               serials=["SN-B1", "SN-B2"], reference="PO-B", at=earlier)
    inventory.receive_purchase(session, location_id=dc.id, sku="RK-MAX2-BLK", quantity=4,
                               serials=["SN-D1", "SN-D2", "SN-D3", "SN-D4"], reference="PO-D")
    inventory.receive_purchase(session, location_id=dc.id, sku="RK-CASE", quantity=20, reference="PO-D2")
    world["delivery_a"] = shipments.ship(
        session, from_location_id=dc.id, to_location_id=a.id, reference="SH-A",
        lines=[shipments.Line("RK-MAX2-BLK", 2, ("SN-D1", "SN-D2")), shipments.Line("RK-CASE", 4)])
    world["delivery_b"] = shipments.ship(
        session, from_location_id=dc.id, to_location_id=b.id, reference="SH-B",
        lines=[shipments.Line("RK-MAX2-BLK", 1, ("SN-D3",))])
    return world


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    match = _TOKEN.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def post(client, path: str, data: dict, token_from: str = "/password"):
    """POST a form as the browser would: with the session's CSRF token."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, token_from)})
