"""With REDIS_URL the sign-in limit is shared by every worker: two app instances (two gunicorn workers)
together let exactly 5 attempts through, where per-process memory would let 10 through."""
from __future__ import annotations

import uuid

import pytest
import redis

from retail import create_app
from retail.config import Settings
from tests.web.factories import csrf_token

REDIS_URL = "redis://127.0.0.1:6379/15"


def test_sign_in_limit_holds_across_workers(sqlite_url):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    workers = [create_app(Settings(env="test", database_url=sqlite_url, redis_url=REDIS_URL)) for _ in range(2)]
    clients = [app.test_client() for app in workers]
    email = f"guesser-{uuid.uuid4().hex[:8]}@example.com"  # a fresh key: runs do not share counters
    tokens = [csrf_token(c) for c in clients]
    codes = [clients[i % 2].post("/login", data={"email": email, "password": "x", "csrf_token": tokens[i % 2]}
                                 ).status_code for i in range(8)]
    assert codes.count(401) == 5 and codes.count(429) == 3
    for app in workers:
        app.extensions["engine"].dispose()
