"""The admins' page of API keys: only admins; a created key is shown once (on the answer, never again,
never in a cookie), works at once, and stops when rotated or revoked; refusals re-render the form."""
from __future__ import annotations

import re

from sqlalchemy import select

from retail.models import ApiKey
from tests.web.factories import post, sign_in

KEY = re.compile(r"rtl_[a-z0-9]{10}_[A-Za-z0-9_-]{20,}")


def _me(client, key):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})


def test_only_admins_see_and_use_the_page(client, world):
    sign_in(client, "planner@example.com")
    assert client.get("/admin/api-keys/").status_code == 403
    response = post(client, "/admin/api-keys/", {"name": "x", "tenant": "brand", "code": "ROKID", "scopes": "read"})
    assert response.status_code == 403


def test_admin_creates_a_key_shown_once_that_works_then_rotates_and_revokes_it(client, world, session):
    sign_in(client, "admin@example.com")
    created = post(client, "/admin/api-keys/", {"name": "Rokid ERP", "tenant": "brand", "code": "rokid",
                                                "scopes": "read,write", "language": ""})
    assert created.status_code == 201
    keys = KEY.findall(created.get_data(as_text=True))
    assert len(keys) == 1
    key = keys[0]
    assert all(key not in value for value in created.headers.getlist("Set-Cookie"))
    assert _me(client, key).json["tenant"] == "brand"
    listing = client.get("/admin/api-keys/").get_data(as_text=True)
    assert key not in listing and key.split("_")[1] in listing  # the prefix is listed, the secret never again

    row = session.execute(select(ApiKey)).scalar_one()
    rotated = post(client, f"/admin/api-keys/{row.id}/rotate", {}, token_from="/admin/api-keys/")
    assert rotated.status_code == 201
    new_key = KEY.findall(rotated.get_data(as_text=True))[0]
    assert _me(client, key).status_code == 401 and _me(client, new_key).status_code == 200

    session.expire_all()
    new_row = session.execute(select(ApiKey).where(ApiKey.revoked_at.is_(None))).scalar_one()
    revoked = post(client, f"/admin/api-keys/{new_row.id}/revoke", {}, token_from="/admin/api-keys/")
    assert revoked.status_code == 302
    assert _me(client, new_key).status_code == 401


def test_a_refused_key_re_renders_the_form_and_writes_nothing(client, world, session):
    sign_in(client, "admin@example.com")
    response = post(client, "/admin/api-keys/", {"name": "Nobody", "tenant": "store", "code": "S9999",
                                                 "scopes": "read"}, token_from="/admin/api-keys/")
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True) and "S9999" in response.get_data(as_text=True)
    assert session.execute(select(ApiKey)).first() is None
