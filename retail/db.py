"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite follows SQLAlchemy's documented pysqlite recipe: the driver's own transaction handling is switched
off and we emit BEGIN ourselves, in one of two ways:

- a write (the unit of work of a verb, `retail.services.verbs.transaction`, which calls `begin_write`)
  begins with BEGIN IMMEDIATE: the write lock is taken at the start, so two writers serialise (the last
  units are sold once) instead of one failing when it upgrades a stale read to a write;
- everything else (page reads, queries) begins DEFERRED: in WAL mode it reads a snapshot and never waits
  for a writer, however long the writer takes (a POS file's dry run).

A session that has been reading (deferred) when a verb starts ends that read-only snapshot first and
begins again with BEGIN IMMEDIATE: upgrading a snapshot that another writer has moved past would fail at
once with "database is locked" instead of waiting its turn. The same holds for a write outside a verb (a
batch job that reads for minutes, then stores its result; a password rehash at sign-in): the first write
of a transaction that has only read ends the snapshot and begins again with BEGIN IMMEDIATE, which is
what PostgreSQL's READ COMMITTED gives such code anyway (each statement sees what is committed).
"""
from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

WRITE = "retail_write"  # execution option: this connection's transaction writes (SQLite: BEGIN IMMEDIATE)
_CHANGES_AT_BEGIN = "retail_changes_at_begin"
_RESTARTED = "retail_restarted_as_write"
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for the write lock before "database is locked"
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


def normalise_url(url: str) -> str:
    """Accept the postgres:// and postgresql:// spellings and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str, **kwargs) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)

    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                           **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN DEFERRED")
        conn.info[_CHANGES_AT_BEGIN] = _total_changes(conn)
        conn.info[_RESTARTED] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _first_write(conn: Connection, cursor, statement, _parameters, _context, _executemany):
        """A write in a transaction that began DEFERRED and has only read: end the read snapshot and begin
        again with BEGIN IMMEDIATE (waiting for the lock), unless a savepoint is open (it would be lost)."""
        if (_WRITES.match(statement) and conn.in_transaction() and not conn.in_nested_transaction()
                and not _began_as_write(conn)):
            cursor.execute("COMMIT")
            cursor.execute("BEGIN IMMEDIATE")
            conn.info[_CHANGES_AT_BEGIN] = _total_changes(conn)
            conn.info[_RESTARTED] = True

    return engine


def _total_changes(conn: Connection) -> int:
    return conn.connection.dbapi_connection.total_changes


def _began_as_write(conn: Connection) -> bool:
    """The transaction holds (or will take at once) the write lock: begun IMMEDIATE, restarted so at its first
    write, or it has written."""
    return (bool(conn.get_execution_options().get(WRITE)) or conn.info.get(_RESTARTED, False)
            or _total_changes(conn) != conn.info.get(_CHANGES_AT_BEGIN))


def begin_write(session: Session) -> None:
    """Start the session's unit of work as a write. On SQLite: BEGIN IMMEDIATE now (waiting up to the busy
    timeout for another writer); a read-only transaction already open is ended first (its snapshot may be
    older than another writer's commit). Nothing to do on PostgreSQL, whose transactions lock by row."""
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        if _began_as_write(session.connection()) or session.new or session.dirty or session.deleted:
            return  # already writing (or about to flush what it holds): keep the one transaction
        session.commit()  # read only: nothing to commit, the snapshot ends
    session.connection(execution_options={WRITE: True})


def new_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
