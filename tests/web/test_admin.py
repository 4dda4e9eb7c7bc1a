"""Administration of stores, users and brands: admins only; list, search, create, edit, deactivate."""
from __future__ import annotations

from sqlalchemy import select

from retail.models import Brand, Location, User
from retail.services import accounts
from tests.web.factories import post, sign_in


def test_admin_pages_are_for_admins_only(client, world):
    sign_in(client, "planner@example.com")
    for area in ("stores", "users", "brands"):
        assert client.get(f"/admin/{area}").status_code == 403
        assert client.get(f"/admin/{area}/new").status_code == 403
    assert post(client, "/admin/stores/new", {"code": "S9", "name": "x", "city": "y"}).status_code == 403
    assert post(client, f"/admin/users/{world['staff'].id}/deactivate", {}).status_code == 403


def test_admin_creates_searches_edits_and_deactivates_a_store(client, world, session):
    sign_in(client, "admin@example.com")
    created = post(client, "/admin/stores/new", {"code": "s0100", "name": "铜锣湾店", "city": "Hong Kong",
                                                 "city_tier": "1", "market": "HK", "partnership": "consignment",
                                                 "dc_code": "DC-SH"})
    assert created.status_code == 302
    store = session.execute(select(Location).where(Location.code == "S0100")).scalar_one()
    assert (store.currency, store.timezone, store.dc_id) == ("HKD", "Asia/Hong_Kong", world["dc"].id)
    assert "铜锣湾店" in client.get("/admin/stores?q=s0100").get_data(as_text=True)
    assert "铜锣湾店" not in client.get("/admin/stores?q=beijing").get_data(as_text=True)
    edited = post(client, f"/admin/stores/{store.id}", {"name": "銅鑼灣店", "city": "Hong Kong", "city_tier": "1",
                                                        "market": "HK", "partnership": "franchise",
                                                        "status": "active"})
    assert edited.status_code == 302
    assert post(client, f"/admin/stores/{store.id}/deactivate", {}).status_code == 302
    session.refresh(store)
    assert (store.name, store.partnership, store.status) == ("銅鑼灣店", "franchise", "suspended")


def test_bad_store_input_keeps_what_was_typed(client, world, session):
    sign_in(client, "admin@example.com")
    duplicate = post(client, "/admin/stores/new", {"code": "S0001", "name": "Copy", "city": "Shanghai",
                                                   "market": "CN", "partnership": "franchise"})
    page = duplicate.get_data(as_text=True)
    assert duplicate.status_code == 422 and "Store S0001 already exists." in page and 'value="Copy"' in page
    tier = post(client, "/admin/stores/new", {"code": "S0101", "name": "New", "city": "Wuhan", "city_tier": "一",
                                              "market": "CN", "partnership": "franchise"})
    assert tier.status_code == 422 and "一 is not a valid city tier." in tier.get_data(as_text=True)
    assert session.execute(select(Location).where(Location.code == "S0101")).first() is None


def test_admin_creates_a_user_who_can_sign_in_and_deactivates_them(app, client, world, session):
    sign_in(client, "admin@example.com")
    weak = post(client, "/admin/users/new", {"email": "new@a.example.com", "name": "New", "role": "store_staff",
                                             "store_code": "S0001", "language": "zh_Hant", "password": "short"})
    assert weak.status_code == 422 and "at least 10 characters" in weak.get_data(as_text=True)
    no_store = post(client, "/admin/users/new", {"email": "new@a.example.com", "name": "New", "role": "store_staff",
                                                 "language": "zh_Hant", "password": "long-enough-pass"})
    assert no_store.status_code == 422 and "Please fill in: store." in no_store.get_data(as_text=True)
    assert post(client, "/admin/users/new", {"email": "New@A.example.com", "name": "New", "role": "store_staff",
                                             "store_code": "s0001", "language": "zh_Hant",
                                             "password": "long-enough-pass"}).status_code == 302
    user = session.execute(select(User).where(User.email == "new@a.example.com")).scalar_one()
    assert (user.store_id, user.language) == (world["a"].id, "zh_Hant")
    assert accounts.authenticate(session, email="new@a.example.com", password="long-enough-pass") is not None
    other = app.test_client()
    sign_in(other, "new@a.example.com", "long-enough-pass")
    assert post(client, f"/admin/users/{user.id}/deactivate", {}).status_code == 302
    assert other.get(f"/stores/{world['a'].id}").status_code == 302  # signed out: the account is inactive
    session.refresh(user)
    assert user.active is False


def test_admin_edits_and_deactivates_a_brand(client, world, session):
    sign_in(client, "admin@example.com")
    assert post(client, "/admin/brands/new", {"code": "inmo", "name": "INMO", "name_zh": "影目",
                                              "lead_time_days": "21", "moq": "5"}).status_code == 302
    brand = session.execute(select(Brand).where(Brand.code == "INMO")).scalar_one()
    bad = post(client, f"/admin/brands/{brand.id}", {"name": "INMO", "lead_time_days": "-3", "moq": "5",
                                                     "active": "1"})
    assert bad.status_code == 422 and "-3" in bad.get_data(as_text=True)
    assert post(client, f"/admin/brands/{brand.id}/deactivate", {}).status_code == 302
    session.refresh(brand)
    assert (brand.lead_time_days, brand.active) == (21, False)
    assert "INMO" in client.get("/admin/brands?q=影目").get_data(as_text=True)
