"""`flask apikeys create|list|rotate|revoke`: the key is printed once, alone on the last line, works at once,
is stored hashed, and stops working when revoked or rotated."""
from __future__ import annotations

from sqlalchemy import select

from retail.models import ApiKey
from tests.factories import small_world


def _invoke(app, *args):
    return app.test_cli_runner().invoke(args=["apikeys", *args])


def test_create_prints_the_key_last_and_it_works(app, client, session):
    small_world(session)
    result = _invoke(app, "create", "--store", "S0001", "--scopes", "read,write")
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("rtl_") and " " not in key
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json["scopes"] == ["read", "write"] and me.json["tenant"] == "store"
    row = session.execute(select(ApiKey)).scalar_one()
    assert key.split("_", 2)[2] not in row.secret_hash and row.created_by is None

    listed = _invoke(app, "list")
    assert row.prefix in listed.output and "S0001" in listed.output and "active" in listed.output

    rotated = _invoke(app, "rotate", row.prefix)
    assert rotated.exit_code == 0, rotated.output
    new_key = rotated.output.strip().splitlines()[-1]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new_key}"}).status_code == 200

    new_prefix = new_key.split("_")[1]
    assert _invoke(app, "revoke", new_prefix).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new_key}"}).status_code == 401


def test_create_refuses_bad_arguments_and_writes_nothing(app, session):
    small_world(session)
    both = _invoke(app, "create", "--store", "S0001", "--brand", "ROKID")
    assert both.exit_code != 0 and "exactly one" in both.output
    unknown = _invoke(app, "create", "--brand", "NOPE")
    assert unknown.exit_code != 0 and "NOPE" in unknown.output
    scopes = _invoke(app, "create", "--brand", "ROKID", "--scopes", "admin")
    assert scopes.exit_code != 0
    assert session.execute(select(ApiKey)).first() is None
