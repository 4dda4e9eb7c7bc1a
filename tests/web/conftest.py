"""Web fixtures: the app on each backend with an in-process rate limiter, and the shop world."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from retail import create_app
from retail.config import Settings
from retail.db import make_engine
from tests.conftest import BACKENDS, _fresh_sqlite_url, backend_url
from tests.web.factories import shop_world


@pytest.fixture
def database_url(sqlite_template, tmp_path) -> str:
    """Web tests run on SQLite; the modules whose behaviour depends on the backend (scoping of every
    page, selling under concurrency) ask for both by overriding this fixture with `both_backends`."""
    return _fresh_sqlite_url(sqlite_template, tmp_path)


@pytest.fixture(params=BACKENDS)
def both_backends(request, sqlite_template, tmp_path) -> str:
    return backend_url(request, sqlite_template, tmp_path)


@pytest.fixture
def app(database_url):
    # redis_url=None: each test's limiter counts on its own, whatever REDIS_URL the machine has.
    app = create_app(Settings(env="test", database_url=database_url, redis_url=None))
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture
def engine(database_url):
    """The test's own connection, used to build worlds and check the database between requests.

    On SQLite the app's engine begins every transaction with BEGIN IMMEDIATE (the write lock);
    a test session built the same way would hold that lock between its reads and block the app.
    Plain pysqlite begins only before writes, so the test's reads never stand in the app's way."""
    engine = create_engine(database_url) if database_url.startswith("sqlite") else make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def world(session):
    return shop_world(session)
