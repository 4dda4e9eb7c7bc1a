"""Web fixtures: the app on each backend with an in-process rate limiter, and the shop world."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from retail import create_app
from retail.config import Settings
from retail.db import make_engine
from tests.web.factories import shop_world


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
