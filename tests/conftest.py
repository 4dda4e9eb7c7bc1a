"""Shared fixtures: a clean database built by the migrations for every test, on SQLite and PostgreSQL.

SQLite: the migrations run once per session into a template file, copied for each test.
PostgreSQL (marker `postgres`): the migrations run once per session into a template database;
each test gets `CREATE DATABASE ... TEMPLATE ...` and drops it afterwards, so tests that commit
from several connections (concurrency) are isolated too. With CI=true an unreachable server fails
the test instead of skipping it.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text

from retail import create_app
from retail.config import Settings
from retail.db import make_engine, new_session
from retail.migrate import upgrade

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# CI runs are reproducible: the same examples every time.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if IN_CI:
    hypothesis_settings.load_profile("ci")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OUTPUT_DIR = Path(__file__).resolve().parents[1] / "test-output"


def unavailable(reason: str):
    """Skip on a developer's machine, fail in CI: what CI needs must be there."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required, not skipped)")
    pytest.skip(reason)


REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_test_url() -> str:
    """The Redis database tests share between app instances and processes; unavailable() when it does not
    answer (a failure in CI)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        unavailable(f"Redis unreachable at {REDIS_TEST_URL}")
    return REDIS_TEST_URL


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _admin_engine() -> Engine:
    return make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(make_engine(POSTGRES_URL).url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    with closing(sqlite3.connect(path)) as connection:  # fold the WAL into the file before copying it
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def postgres_template():
    try:
        admin = _admin_engine()
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means the server is not there
        unavailable(f"PostgreSQL unreachable at {POSTGRES_URL}: {type(exc).__name__}")
    name = f"retail_tmpl_{_worker()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(_pg_url(name))
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_sqlite_url(template: Path, tmp_path: Path) -> str:
    target = tmp_path / "retail.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def postgres_url(request, postgres_template):
    name = f"t_{_worker()}_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    yield _pg_url(name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def backend_url(request, sqlite_template, tmp_path) -> str:
    """A clean, migrated database on the backend the fixture was parametrised with."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return _fresh_sqlite_url(sqlite_template, tmp_path)


@pytest.fixture(params=BACKENDS)
def database_url(request, sqlite_template, tmp_path) -> str:
    """A clean, migrated database on each backend."""
    return backend_url(request, sqlite_template, tmp_path)


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    return _fresh_sqlite_url(sqlite_template, tmp_path)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    session = new_session(engine)
    yield session
    session.close()


@pytest.fixture
def app(database_url):
    app = create_app(Settings(env="test", database_url=database_url, log_json=True))
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR
