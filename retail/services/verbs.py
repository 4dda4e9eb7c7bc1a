"""What a service function is, and the one place where its access check and transaction happen.

Every public function of the service layer that takes a session is of one kind, marked here:

- `@verb(scope)`: changes state on behalf of a person (`actor`, a User row). Before the body runs, the
  wrapper refuses an actor who is missing, deactivated, or outside the scope (`errors.Forbidden`), then
  runs the body in one transaction: committed when it returns, rolled back when it raises. A verb called
  from inside another verb (a POS import posting its rows as sales and returns) joins the caller's
  transaction, so a file lands whole or not at all. Objects named by id (a delivery, a count, a
  transfer request) are checked against the scope inside the body: another store's object is NotFound.
- `@query`: reads, filtered by the store or brand it is given; the adapter has checked the caller.
- `@job`: network-wide batch work started by an operator from the command line (forecast, plan, export).
- `@public`: reached before anyone is signed in (sign-in itself).

`retail.services.ledger` is the exception: its primitives post movements inside a verb's transaction
and are never called by an adapter (an import-linter contract in pyproject.toml).
tests/services/test_verbs_scope.py walks the package and fails on any public session function that is
none of these kinds, and calls every verb as an actor outside its scope.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from retail import errors
from retail.db import begin_write
from retail.models import REQUEST_KEY, IdempotencyKey, RequestKey, User, utcnow
from retail.services import access

# The scopes a verb may declare, and the argument that names the scope's object.
STORE, BRAND, NETWORK, ADMIN, SELF = "store", "brand", "network", "admin", "self"
SCOPES = (STORE, BRAND, NETWORK, ADMIN, SELF)
_DEPTH = "retail.transaction_depth"


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One unit of work: the outermost `transaction` begins it as a write (`db.begin_write`), commits on
    success and rolls back on any error; inner ones (a verb called by a verb) join it and leave the decision
    to the outermost."""
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    request_key = session.info.pop(REQUEST_KEY, None) if depth == 0 else None
    try:
        if depth == 0:
            begin_write(session)  # SQLite: BEGIN IMMEDIATE here; reads elsewhere begin DEFERRED (retail/db.py)
        if request_key is not None:
            _record_request_key(session, request_key)
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
            if request_key is not None:  # nothing was recorded: a later verb of the request may use it
                session.info[REQUEST_KEY] = request_key
        raise
    finally:
        session.info[_DEPTH] = depth


def _record_request_key(session: Session, request_key: RequestKey) -> None:
    """Record the request's one-time key (put on `session.info[REQUEST_KEY]` by the adapter) in the
    transaction of its effect, first: a concurrent twin waits on the unique index until this one commits,
    then finds the key taken and changes nothing. Taken with the same content: AlreadyRecorded; with
    other content: RequestKeyReused."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    keys = IdempotencyKey.__table__
    recorded = session.execute(insert(keys).values(
        user_id=request_key.user_id, key=request_key.key, fingerprint=request_key.fingerprint, created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["user_id", "key"]).returning(keys.c.id)).scalar_one_or_none()
    if recorded is not None:
        return
    first = session.execute(select(IdempotencyKey.fingerprint).where(
        IdempotencyKey.user_id == request_key.user_id, IdempotencyKey.key == request_key.key)).scalar_one_or_none()
    if first == request_key.fingerprint:
        raise errors.AlreadyRecorded()
    raise errors.RequestKeyReused()


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_scope(actor: User | None, scope: str, store_id: int | None, brand_id: int | None = None) -> None:
    """Refuse an actor who may not act in the scope: the rule every entry point goes through."""
    if not isinstance(actor, User) or not actor.active:
        raise errors.Forbidden(what=scope)
    if scope == STORE:
        if not _is_id(store_id):
            raise errors.Forbidden(what="store")
        access.check_store(actor, store_id)
    elif scope == BRAND:
        if not _is_id(brand_id):
            raise errors.Forbidden(what="brand")
        access.check_brand(actor, brand_id)
    elif scope == NETWORK:
        access.check_network(actor)
    elif scope == ADMIN:
        access.check_admin(actor)
    elif scope != SELF:
        raise ValueError(f"unknown scope {scope!r}")


def verb(scope: str) -> Callable:
    """Mark a state-changing service function `f(session, actor, *, ...)` of the given scope
    (`store`: keyword `store_id`; `brand`: keyword `brand_id`, a brand's partners and integration account;
    `network`: planners and admins; `admin`; `self`: the actor's own account)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def decorate(function: Callable) -> Callable:
        parameters = list(inspect.signature(function).parameters)
        named = {STORE: "store_id", BRAND: "brand_id"}.get(scope)
        if parameters[:2] != ["session", "actor"] or (named and named not in parameters):
            raise TypeError(f"verb {function.__qualname__} must take (session, actor, ...)"
                            + (f" and {named}" if named else ""))

        @functools.wraps(function)
        def wrapper(session: Session, actor: User | None, *args, **kwargs):
            check_scope(actor, scope, kwargs.get("store_id"), kwargs.get("brand_id"))
            with transaction(session):
                return function(session, actor, *args, **kwargs)

        wrapper.service_kind = "verb"
        wrapper.scope = scope
        return wrapper

    return decorate


def query(function: Callable) -> Callable:
    """Mark a read of the service layer (it changes nothing)."""
    function.service_kind = "query"
    return function


def public(function: Callable) -> Callable:
    """Mark a service function reached before anyone is signed in (checking a password)."""
    function.service_kind = "public"
    return function


def job(function: Callable) -> Callable:
    """Mark network-wide batch work run by an operator (the CLI and cron), not on a person's behalf."""
    function.service_kind = "job"
    return function
