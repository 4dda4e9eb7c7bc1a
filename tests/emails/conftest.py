"""Email fixtures: a real SMTP server (aiosmtpd on 127.0.0.1, a free port) and a small generated world with a
forecast and a plan, built once per backend and copied for each test.

The world is the demo generator's (`demo load --stores 8`), forecast and planned through the project's own
commands. A few managers are moved to Traditional Chinese and English, one store is suspended, one manager
deactivated and one opted out, so that "every active store manager of an active store" means something.
"""
from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, text, update

from retail import create_app
from retail.config import Settings
from retail.db import make_engine, new_session
from retail.models import EmailOptOut, ForecastRun, Location, User
from tests.conftest import BACKENDS, _admin_engine, _pg_url

STORES = 8
PUBLIC_URL = "https://retail.example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mailbox:
    """What the server accepted, and how it should behave.

    refuse: address -> (code, text) answered to RCPT TO, every time (a 5xx is permanent);
    temp_fail: address -> times to answer 451 before accepting (a temporary refusal);
    hold_at: the n-th DATA (1-based, counted over the server's life) is held until `release` is set, then
    dropped unacknowledged: the client died before the server said 250."""
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)
    temp_fail: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    hold_at: int | None = None
    delay: float = 0.0  # seconds before each 250 (a slow server: batches that overlap in time)
    data_seen: int = 0
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["To"]]

    def by_address(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.messages:
            address = m["To"].addresses[0].addr_spec
            out[address] = out.get(address, 0) + 1
        return out


class Handler:
    def __init__(self, box: Mailbox):
        self.box = box

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        box = self.box
        box.attempts[address] = box.attempts.get(address, 0) + 1
        if address in box.refuse:
            code, message = box.refuse[address]
            return f"{code} {message}"
        if box.temp_fail.get(address, 0) > 0:
            box.temp_fail[address] -= 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        box = self.box
        box.data_seen += 1
        if box.hold_at is not None and box.data_seen == box.hold_at:
            box.holding.set()
            while not box.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.4.2 Connection lost before acknowledgement"
        if box.delay:
            await asyncio.sleep(box.delay)
        box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 Accepted"


@pytest.fixture
def smtp_server():
    box = Mailbox()
    port = free_port()
    controller = Controller(Handler(box), hostname="127.0.0.1", port=port)
    controller.start()
    box.url = f"smtp://127.0.0.1:{port}"
    yield box
    box.release.set()
    controller.stop()


def _build_world(url: str) -> dict:
    app = create_app(Settings(env="test", database_url=url, public_url=PUBLIC_URL))
    runner = app.test_cli_runner()
    for args in (["demo", "load", "--stores", str(STORES), "--seed", "5"], ["forecast", "run"],
                 ["replenish", "plan"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output)
    engine = app.extensions["engine"]
    with new_session(engine) as session:
        week = session.execute(select(ForecastRun.start_week)).scalar_one()
        managers = session.execute(select(User).where(User.role == "store_manager").order_by(User.id)).scalars().all()
        managers[0].language, managers[1].language = "zh_Hant", "en"
        # The English-speaking manager's store is in Hong Kong: HKD prices, Hong Kong time.
        session.execute(update(Location).where(Location.id == managers[1].store_id)
                        .values(market="HK", currency="HKD", timezone="Asia/Hong_Kong"))
        suspended_store = managers[2].store_id
        session.execute(update(Location).where(Location.id == suspended_store).values(status="suspended"))
        managers[3].active = False
        session.add(EmailOptOut(user_id=managers[4].id, via="account"))
        session.commit()
        info = {"week": week, "zh_Hant": managers[0].email, "en": managers[1].email,
                "suspended": managers[2].email, "inactive": managers[3].email, "opted_out": managers[4].email}
    engine.dispose()
    return info


@pytest.fixture(scope="session")
def sqlite_world(tmp_path_factory, sqlite_template):
    path = tmp_path_factory.mktemp("email-world") / "world.db"
    shutil.copyfile(sqlite_template, path)
    info = _build_world(f"sqlite:///{path}")
    return path, info


@pytest.fixture(scope="session")
def postgres_world(postgres_template):
    name = f"email_world_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    info = _build_world(_pg_url(name))
    yield name, info
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def world(request, tmp_path):
    """(database URL, facts) of a fresh copy of the email world on each backend."""
    if request.param == "postgres":
        template, info = request.getfixturevalue("postgres_world")
        name = f"t_mail_{uuid.uuid4().hex[:10]}"
        admin = _admin_engine()
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        yield _pg_url(name), info
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    source, info = request.getfixturevalue("sqlite_world")
    target = tmp_path / "world.db"
    shutil.copyfile(source, target)
    yield f"sqlite:///{target}", info


@pytest.fixture
def sqlite_only_world(sqlite_world, tmp_path):
    source, info = sqlite_world
    target = tmp_path / "world.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}", info


def make_app(url: str, smtp_url: str | None):
    return create_app(Settings(env="test", database_url=url, smtp_url=smtp_url, public_url=PUBLIC_URL,
                               redis_url=None))


@pytest.fixture
def engine_for():
    engines = []

    def make(url: str):
        engine = make_engine(url)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)
