"""With REDIS_URL the API's per-key limits are shared by every worker: two app instances (two gunicorn
workers) on one database let exactly the limit through, where per-process memory would let twice as many.
Keys are made fresh for every run, so runs do not share counters."""
from __future__ import annotations

from retail import create_app
from retail.config import Settings
from retail.db import new_session
from tests.api.factories import api_world, bearer
from tests.conftest import redis_test_url


def test_the_limit_of_a_key_holds_across_workers(sqlite_url):
    redis_url = redis_test_url()
    apps = [create_app(Settings(env="test", database_url=sqlite_url, redis_url=redis_url, api_rate_limit="5/minute"))
            for _ in range(2)]
    session = new_session(apps[0].extensions["engine"])
    world = api_world(session)
    session.close()
    clients = [app.test_client() for app in apps]
    codes = [clients[i % 2].get("/api/v1/me", headers=bearer(world["keys"]["brand"])).status_code for i in range(8)]
    assert codes == [200] * 5 + [429] * 3
    for app in apps:
        app.extensions["engine"].dispose()
