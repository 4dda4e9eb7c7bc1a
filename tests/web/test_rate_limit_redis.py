"""With REDIS_URL the sign-in limits are shared by every worker: two app instances (two gunicorn workers)
together let exactly the limit through, where per-process memory would let twice as many through.
Every run uses a fresh address and fresh emails, so runs do not share counters."""
from __future__ import annotations

import uuid

import pytest

from retail import create_app
from retail.config import Settings
from tests.conftest import redis_test_url
from tests.web.factories import csrf_token


@pytest.fixture
def workers(sqlite_url):
    redis_url = redis_test_url()
    apps = [create_app(Settings(env="test", database_url=sqlite_url, redis_url=redis_url)) for _ in range(2)]
    yield [app.test_client() for app in apps]
    for app in apps:
        app.extensions["engine"].dispose()


def _fresh_address() -> str:
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


def _attempts(clients, emails, addresses) -> list[int]:
    tokens = [csrf_token(c) for c in clients]
    return [clients[i % 2].post("/login", data={"email": email, "password": "x", "csrf_token": tokens[i % 2]},
                                environ_base={"REMOTE_ADDR": address}).status_code
            for i, (email, address) in enumerate(zip(emails, addresses, strict=True))]


def test_sign_in_limit_holds_across_workers(workers):
    email = f"guesser-{uuid.uuid4().hex[:8]}@example.com"
    codes = _attempts(workers, [email] * 8, [_fresh_address()] * 8)
    assert codes.count(401) == 5 and codes.count(429) == 3


def test_spraying_many_accounts_from_one_address_is_throttled_across_workers(workers):
    run = uuid.uuid4().hex[:8]
    codes = _attempts(workers, [f"p{i}-{run}@example.com" for i in range(20)], [_fresh_address()] * 20)
    assert codes[:10] == [401] * 10 and codes[10:] == [429] * 10


def test_one_account_from_many_addresses_is_throttled_across_workers(workers):
    email = f"target-{uuid.uuid4().hex[:8]}@example.com"
    codes = _attempts(workers, [email] * 8, [_fresh_address() for _ in range(8)])
    assert codes == [401] * 5 + [429] * 3
