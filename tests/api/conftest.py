"""Fixtures of the partner API tests: an app on each backend with `api_world` loaded in it."""
from __future__ import annotations

import pytest

from retail.db import new_session
from tests.api.factories import api_world


@pytest.fixture
def world(app):
    session = new_session(app.extensions["engine"])
    try:
        yield api_world(session)
    finally:
        session.close()


@pytest.fixture
def db(app):
    """A session of the app's database, for assertions on what the API wrote."""
    session = new_session(app.extensions["engine"])
    yield session
    session.close()
