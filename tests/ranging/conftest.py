"""Ranging tests run on SQLite and PostgreSQL (the root `database_url`); the app counts rate limits in process."""
from __future__ import annotations

import pytest

from retail import create_app
from retail.config import Settings


@pytest.fixture
def app(database_url):
    app = create_app(Settings(env="test", database_url=database_url, redis_url=None))
    yield app
    app.extensions["engine"].dispose()
