"""The app served by gunicorn (the repo's gunicorn.conf.py) on a prepared SQLite file, and Debian's
Chromium driven by Playwright. Missing Chromium or Playwright: skipped locally, a failure with CI=true.

One server and one database serve the module (gunicorn takes seconds to start); the tests touch
different things and compare the database before and after, so their order does not matter."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session

from tests.api.live import gunicorn
from tests.conftest import unavailable
from tests.web.factories import shop_world

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def serve_world(build, sqlite_template, tmp_path_factory):
    """A migrated SQLite file with the world `build(session)` makes; yields (url, engine, world)."""
    path = tmp_path_factory.mktemp("served") / "served.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        world = build(session)
    yield url, engine, world
    engine.dispose()


@pytest.fixture(scope="module")
def served_db(sqlite_template, tmp_path_factory):
    """A migrated SQLite file with the shop world; (url, engine, world)."""
    yield from serve_world(shop_world, sqlite_template, tmp_path_factory)


@pytest.fixture(scope="module")
def server(served_db, tmp_path_factory):
    url, _engine, _world = served_db
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    try:
        with gunicorn(url, log) as base:
            yield base
    except RuntimeError as exc:  # it did not start: its log says why
        pytest.fail(str(exc))


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shots(output_dir):
    folder = output_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot
