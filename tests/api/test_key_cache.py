"""The API keeps an authenticated caller for a few seconds (retail/api/core.py `Callers`), so the common call
reads no row; a revocation or a rotation still refuses the key at once, in this process and (through the
generation in Redis) in every other one; any other change (the key's account or tenant deactivated) within
the documented bound, KEY_CACHE_SECONDS."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import event

from retail import create_app
from retail.api import core
from retail.config import Settings
from retail.db import new_session
from retail.models import ApiKey, User
from retail.services import api_keys
from tests.api.factories import api_world, bearer
from tests.conftest import redis_test_url

ROOT = Path(__file__).resolve().parents[2]


def _statements(app) -> list:
    seen: list = []
    event.listen(app.extensions["engine"], "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: seen.append(statement))
    return seen


def test_a_kept_caller_costs_no_query(app, client, world):
    seen = _statements(app)
    assert client.get("/api/v1/me", headers=bearer(world["keys"]["brand"])).status_code == 200
    assert any("api_key" in statement for statement in seen)  # the first call reads the key
    seen.clear()
    again = client.get("/api/v1/me", headers=bearer(world["keys"]["brand"]))
    assert again.status_code == 200 and again.json["brand_id"] == world["brand"].id
    assert seen == []
    # another key is its own entry: read once
    other = client.get("/api/v1/me", headers=bearer(world["keys"]["other_brand"]))
    assert other.json["brand_id"] == world["other_brand"].id and seen


def test_a_tampered_secret_of_a_kept_key_is_still_401(client, world):
    good = world["keys"]["brand"]
    assert client.get("/api/v1/me", headers=bearer(good)).status_code == 200
    tampered = good[:-1] + ("a" if good[-1] != "a" else "b")
    for _ in range(2):
        assert client.get("/api/v1/me", headers=bearer(tampered)).status_code == 401


def test_revocation_is_refused_at_once(client, world, db):
    key = world["keys"]["brand"]
    for _ in range(2):
        assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    api_keys.revoke_key(db, db.get(User, world["admin"].id), key_id=world["key_rows"]["brand"].id)
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 401
    assert client.get("/api/v1/brand/products", headers=bearer(key)).status_code == 401
    # the other keys are read again, and still work
    assert client.get("/api/v1/me", headers=bearer(world["keys"]["brand_read"])).status_code == 200


def test_rotation_refuses_the_old_key_at_once_and_serves_the_new_one(client, world, db):
    old = world["keys"]["store"]
    assert client.get("/api/v1/store/stock", headers=bearer(old)).status_code == 200
    new = api_keys.rotate_key(db, db.get(User, world["admin"].id), key_id=world["key_rows"]["store"].id)
    assert client.get("/api/v1/store/stock", headers=bearer(old)).status_code == 401
    assert client.get("/api/v1/store/stock", headers=bearer(new.secret)).status_code == 200


def test_a_revocation_rolled_back_changes_nothing(client, world, db):
    key = world["keys"]["brand"]
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    before = api_keys.generation()
    row = db.get(ApiKey, world["key_rows"]["brand"].id)
    api_keys._revoke(db, None, row.id)
    db.rollback()
    assert api_keys.generation() == before
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200


def test_other_changes_are_seen_within_the_bound(app, client, world, db):
    """A deactivated account (or tenant) is not announced: the kept caller serves until it is older than
    the bound, then the key is read again and refused."""
    callers = app.extensions["api_callers"]
    assert callers.seconds == core.KEY_CACHE_SECONDS <= 5
    callers.seconds = 0.5
    key = world["keys"]["brand"]
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    account = db.get(User, world["key_rows"]["brand"].user_id)
    account.active = False
    db.commit()
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200  # kept: within the bound
    time.sleep(0.6)
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 401


def test_last_use_is_still_recorded(client, world, db):
    key_id = world["key_rows"]["brand_read"].id
    assert db.get(ApiKey, key_id).last_used_at is None
    for _ in range(3):
        assert client.get("/api/v1/me", headers=bearer(world["keys"]["brand_read"])).status_code == 200
    db.rollback()  # a fresh read (SQLite: a new snapshot)
    assert db.get(ApiKey, key_id).last_used_at is not None


def test_a_revocation_from_the_command_line_reaches_a_worker_at_once(sqlite_url):
    """Another process (the command line, like the admin page in another gunicorn worker) revokes the key:
    this app hears of it through the generation in Redis, read with the rate count, although its own entry
    would be kept for minutes."""
    redis_url = redis_test_url()
    app = create_app(Settings(env="test", database_url=sqlite_url, redis_url=redis_url))
    app.extensions["api_callers"].seconds = 600
    session = new_session(app.extensions["engine"])
    world = api_world(session)
    session.close()
    client = app.test_client()
    key = world["keys"]["brand"]
    for _ in range(2):
        assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    local = api_keys.generation()
    env = {**os.environ, "DATABASE_URL": sqlite_url, "REDIS_URL": redis_url, "APP_ENV": "test",
           "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "apikeys", "revoke",
                    world["key_rows"]["brand"].prefix], cwd=ROOT, env=env, check=True, capture_output=True)
    assert api_keys.generation() == local  # not this process: only Redis can tell it
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(world["keys"]["other_brand"])).status_code == 200
    app.extensions["engine"].dispose()
