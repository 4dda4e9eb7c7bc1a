"""What a committed transaction changed, by table: for the answers kept for speed (retail/api/core.py).

Session events note the tables a session writes: the rows its flushes add, change and delete, and the
statements it executes (`update()`, `insert()`, `delete()`, and DML in `text()`). Once the transaction has
committed, and not before, the listeners hear the database and the tables: an answer rebuilt between an
announcement and its commit would be kept with the old rows. A rollback forgets them. This is table-level
invalidation as django-cachalot does it: coarse (any stock movement renews every kept stock answer), exact
(no committed write goes unannounced through a session) and cheap (one set per transaction).

Not seen: writes on a bare connection (`engine.begin()`, the demo loader's bulk inserts) and by other
programs. Keepers therefore also bound how long they keep an answer (core.KEPT_SECONDS).
"""
from __future__ import annotations

import functools
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Callable

from sqlalchemy import event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session
from sqlalchemy.sql import Delete, Insert, TextClause, Update

_log = logging.getLogger(__name__)

Listener = Callable[[str, frozenset[str]], None]  # (database, tables), after the commit
_listeners: dict[str, Listener] = {}
_TOUCHED = "retail_changed_tables"
# the table, after an optional schema: `UPDATE movement`, `INSERT INTO "public"."movement"`
_TEXT_DML = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+(?:"?\w+"?\.)?"?(\w+)',
                       re.IGNORECASE)


def on_commit(name: str, listener: Listener) -> None:
    """Call `listener(database, tables)` after each commit that wrote `tables` (one listener per `name`)."""
    _listeners[name] = listener


def database_of(session: Session) -> str:
    """How listeners and keepers name a session's database (`database_name` of its URL)."""
    bind = session.get_bind()
    return database_name(getattr(bind, "url", None) or bind.engine.url)


@functools.lru_cache(maxsize=64)
def _host(host: str) -> str:
    try:  # `localhost`, `127.0.0.1`, `::1` and a name that resolves to one of them are one server
        address = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0]
    except OSError:
        return host.lower()
    return "loopback" if ipaddress.ip_address(address.split("%")[0]).is_loopback else address


@functools.lru_cache(maxsize=64)  # asked after every commit that wrote (database_of): parse and resolve once
def database_name(url: str | URL) -> str:
    """One name per database, however a process spells its URL: the backend, the server's address and port,
    the database; a SQLite file by its real path. No user and no password (the same data for every role), so
    a writer and a reader that reach one database by other spellings move and read the same generations."""
    url = make_url(url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = url.database or ""
        return f"sqlite:{path if path in ('', ':memory:') else os.path.realpath(path)}"
    port = url.port or {"postgresql": 5432, "mysql": 3306}.get(backend)
    return f"{backend}://{_host(url.host or 'localhost')}:{port}/{url.database or ''}"


def note(session: Session, *tables: str) -> None:
    """Announce `tables` after this session's commit: the events call it for the tables written; a service
    calls it for a change a table name alone does not tell (`api_keys.REVOKED`)."""
    session.info.setdefault(_TOUCHED, set()).update(tables)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context) -> None:
    # after_flush still lists what the flush wrote (new, dirty, deleted are pre-flush state)
    kinds = {type(obj) for rows in (session.new, session.dirty, session.deleted) for obj in rows}
    tables = {table.name for kind in kinds for table in inspect(kind).tables}
    if tables:
        note(session, *tables)


@event.listens_for(Session, "do_orm_execute")
def _executed(state) -> None:
    statement = state.statement
    if isinstance(statement, Insert | Update | Delete):
        note(state.session, statement.table.name)
    elif isinstance(statement, TextClause):
        match = _TEXT_DML.match(statement.text)
        if match:
            note(state.session, match.group(1).lower())


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    tables = session.info.pop(_TOUCHED, None)
    if not tables or not _listeners:
        return
    database, tables = database_of(session), frozenset(tables)
    for name, listener in list(_listeners.items()):
        try:
            listener(database, tables)
        except Exception:  # noqa: BLE001 - the write is committed; keepers renew within their bound
            _log.exception("committed changes not announced to %s", name)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous) -> None:
    if previous.parent is None:  # the whole transaction; a savepoint's notes stay (one renewal too many)
        session.info.pop(_TOUCHED, None)
