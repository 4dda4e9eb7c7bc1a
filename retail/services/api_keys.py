"""Keys of the partner and franchise API: created, rotated and revoked by admins; checked on every call.

A key reads `rtl_<prefix>_<secret>`. The prefix (10 characters, public, unique) finds the row; only the
SHA-256 of the secret is stored and compared in constant time. A key is shown once, when it is made.
Each key acts through its tenant's integration account (`Role.integration`, no password), created with
the tenant's first key: verbs check that account like any person, and movements and the audit log name it.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from retail import changes, errors
from retail.models import ApiKey, Brand, Location, LocationKind, LocationStatus, Role, User, utcnow
from retail.services import audit
from retail.services.verbs import ADMIN, job, public, query, transaction, verb

PREFIX_LENGTH = 10
SCOPE_SETS = {"read": "read", "write": "read,write", "read,write": "read,write", "write,read": "read,write"}
LANGUAGES = ("zh_Hans", "zh_Hant", "en")
LAST_USE_EVERY = timedelta(minutes=1)  # last use is written at most once a minute per key
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: keys are read out over the phone too
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # the whole key as the partner sends it: shown once, never stored


@dataclass(frozen=True)
class Caller:
    key_id: int
    prefix: str
    scopes: frozenset[str]
    language: str
    brand_id: int | None
    store_id: int | None
    user_id: int
    session: Session = field(repr=False, compare=False)

    @property
    def actor(self) -> User:
        """The tenant's integration account, loaded when a verb needs it (reads do not)."""
        return self.session.get(User, self.user_id)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _integration_account(session: Session, *, brand: Brand | None, store: Location | None, language: str) -> User:
    code = (brand.code if brand is not None else store.code).lower()
    email = f"api.{'brand' if brand is not None else 'store'}.{code}@integrations.invalid"
    user = session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        user = User(email=email, name=f"API {brand.name if brand is not None else store.name}"[:120],
                    role=Role.integration, brand_id=brand.id if brand else None, store_id=store.id if store else None,
                    language=language, password_hash=None)
        session.add(user)
        session.flush()
    return user


def _tenant(session: Session, brand_code: str | None, store_code: str | None) -> tuple[Brand | None, Location | None]:
    if bool(brand_code) == bool(store_code):
        raise errors.InvalidValue(field="tenant", value="give a brand code or a store code, not both")
    if brand_code:
        brand = session.execute(select(Brand).where(Brand.code == brand_code.strip().upper())).scalar_one_or_none()
        if brand is None:
            raise errors.NotFound(what="Brand", key=brand_code)
        return brand, None
    store = session.execute(select(Location).where(Location.code == store_code.strip().upper(),
                                                   Location.kind == LocationKind.store)).scalar_one_or_none()
    if store is None:
        raise errors.UnknownLocation(location=store_code)
    return None, store


def _default_language(brand: Brand | None, store: Location | None) -> str:
    if store is not None:
        return "zh_Hant" if store.market == "HK" else "zh_Hans"
    return "en"


def _issue(session: Session, *, name: str, brand: Brand | None, store: Location | None, scopes: str,
           language: str, user: User, created_by: int | None) -> NewKey:
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = secrets.token_urlsafe(32)
    key = ApiKey(prefix=prefix, secret_hash=_digest(secret), name=name, brand_id=brand.id if brand else None,
                 store_id=store.id if store else None, scopes=scopes, language=language, user_id=user.id,
                 created_by=created_by)
    session.add(key)
    session.flush()
    return NewKey(key=key, secret=f"rtl_{prefix}_{secret}")


@verb(ADMIN)
def create_key(session: Session, actor: User, *, name: str, brand_code: str | None = None,
               store_code: str | None = None, scopes: str = "read", language: str | None = None) -> NewKey:
    """A new key for one brand or one store, with the scopes `read` or `read,write`."""
    return _create(session, actor.id, name=name, brand_code=brand_code, store_code=store_code, scopes=scopes,
                   language=language)


@job
def create_key_as_operator(session: Session, *, name: str, brand_code: str | None = None,
                           store_code: str | None = None, scopes: str = "read", language: str | None = None) -> NewKey:
    """The same, from the command line (`flask apikeys create`): the operator at the server's shell."""
    with transaction(session):
        return _create(session, None, name=name, brand_code=brand_code, store_code=store_code, scopes=scopes,
                       language=language)


@job
def revoke_key_as_operator(session: Session, *, prefix: str) -> ApiKey:
    with transaction(session):
        return _revoke(session, None, _by_prefix(session, prefix).id)


@job
def rotate_key_as_operator(session: Session, *, prefix: str) -> NewKey:
    with transaction(session):
        return _rotate(session, None, _by_prefix(session, prefix).id)


def _by_prefix(session: Session, prefix: str) -> ApiKey:
    key = session.execute(select(ApiKey).where(ApiKey.prefix == (prefix or "").strip())).scalar_one_or_none()
    if key is None:
        raise errors.NotFound(what="API key", key=(prefix or "")[:16])
    return key


def _create(session: Session, actor_id: int | None, *, name: str, brand_code: str | None, store_code: str | None,
            scopes: str, language: str | None) -> NewKey:
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise errors.InvalidValue(field="name", value=name[:80] or "-")
    scope_set = SCOPE_SETS.get((scopes or "").replace(" ", "").lower())
    if scope_set is None:
        raise errors.InvalidValue(field="scopes", value=scopes)
    brand, store = _tenant(session, brand_code, store_code)
    language = language or _default_language(brand, store)
    if language not in LANGUAGES:
        raise errors.InvalidValue(field="language", value=language)
    user = _integration_account(session, brand=brand, store=store, language=language)
    new = _issue(session, name=name, brand=brand, store=store, scopes=scope_set, language=language, user=user,
                 created_by=actor_id)
    audit.record(session, actor_id=actor_id, action="api_key.created", entity="api_key", entity_id=new.key.id,
                 detail={"prefix": new.key.prefix, "scopes": scope_set, "brand": brand_code, "store": store_code})
    return new


def _active_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise errors.NotFound(what="API key", key=key_id)
    if key.revoked_at is not None:
        raise errors.AlreadyExists(what="Revoked API key", key=key.prefix)
    return key


@verb(ADMIN)
def revoke_key(session: Session, actor: User, *, key_id: int) -> ApiKey:
    """The key stops working at once (401 on its next call)."""
    return _revoke(session, actor.id, key_id)


def _revoke(session: Session, actor_id: int | None, key_id: int) -> ApiKey:
    key = _active_key(session, key_id)
    key.revoked_at = utcnow()
    _announce_change(session)
    audit.record(session, actor_id=actor_id, action="api_key.revoked", entity="api_key", entity_id=key.id,
                 detail={"prefix": key.prefix})
    session.flush()
    return key


@verb(ADMIN)
def rotate_key(session: Session, actor: User, *, key_id: int) -> NewKey:
    """A new secret with the same tenant, scopes and name; the old key is revoked in the same transaction."""
    return _rotate(session, actor.id, key_id)


def _rotate(session: Session, actor_id: int | None, key_id: int) -> NewKey:
    old = _active_key(session, key_id)
    brand = session.get(Brand, old.brand_id) if old.brand_id else None
    store = session.get(Location, old.store_id) if old.store_id else None
    new = _issue(session, name=old.name, brand=brand, store=store, scopes=old.scopes, language=old.language,
                 user=session.get(User, old.user_id), created_by=actor_id)
    old.revoked_at, old.replaced_by_id = utcnow(), new.key.id
    _announce_change(session)
    audit.record(session, actor_id=actor_id, action="api_key.rotated", entity="api_key", entity_id=old.id,
                 detail={"prefix": old.prefix, "new_prefix": new.key.prefix})
    session.flush()
    return new


# ---------------------------------------------------------------- revocations, for callers that keep keys

# The API keeps the callers it has authenticated for a few seconds (retail/api/core.py). A revocation or a
# rotation must still stop a key at once, so each one, once committed, moves a generation that those caches
# compare with: this process's own (`generation()`), and the listeners' (`on_change`: the API registers one
# that moves a counter in Redis, read in the same round trip as the rate limit by every worker).
_generation = 0
_listeners: dict[str, Callable[[], None]] = {}
REVOKED = "api_key:revoked_or_rotated"  # announced by retail.changes after the commit, as a table would be


def generation() -> int:
    """How many key revocations and rotations this process has committed."""
    return _generation


def on_change(name: str, listener: Callable[[], None]) -> None:
    """Call `listener` after each committed revocation or rotation (one listener per `name`)."""
    _listeners[name] = listener


def _announce_change(session: Session) -> None:
    """Move the generations once this session's transaction commits (not before: a cache refilled between
    the move and the commit would keep the key as it was); a rollback moves nothing."""
    changes.note(session, REVOKED)


def _committed(_database: str, tables: frozenset[str]) -> None:
    global _generation
    if REVOKED not in tables:
        return
    _generation += 1
    for name, listener in list(_listeners.items()):
        try:
            listener()
        except Exception:  # noqa: BLE001 - the revocation is committed; other workers see it within the TTL
            _log.exception("API key change not announced to %s", name)


changes.on_commit("api_keys", _committed)


@query
def keys(session: Session, *, limit: int = 500) -> list[tuple[ApiKey, str]]:
    """Every key with its tenant's code, newest first (admins' list)."""
    rows = session.execute(
        select(ApiKey, Brand.code, Location.code).outerjoin(Brand, Brand.id == ApiKey.brand_id)
        .outerjoin(Location, Location.id == ApiKey.store_id).order_by(ApiKey.id.desc()).limit(limit)).all()
    return [(key, brand_code or store_code) for key, brand_code, store_code in rows]


def _parse(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)
    if len(token) > 128 or len(parts) != 3 or parts[0] != "rtl" or len(parts[1]) != PREFIX_LENGTH:
        return None
    return parts[1], parts[2]


_KEY_ROW = (select(ApiKey.id, ApiKey.secret_hash, ApiKey.revoked_at, ApiKey.scopes, ApiKey.language,
                   ApiKey.brand_id, ApiKey.store_id, ApiKey.user_id, ApiKey.last_used_at, User.active,
                   Brand.active.label("brand_active"), Location.status.label("store_status"))
            .join(User, User.id == ApiKey.user_id)
            .outerjoin(Brand, Brand.id == ApiKey.brand_id)
            .outerjoin(Location, Location.id == ApiKey.store_id))


@public
def authenticate(session: Session, token: str) -> Caller:
    """The caller a bearer token names, or Unauthenticated (unknown, malformed, revoked, or its tenant or
    account no longer active). One indexed query; the key's last use is written at most once a minute."""
    parsed = _parse(token or "")
    if parsed is None:
        raise errors.Unauthenticated()
    prefix, secret = parsed
    row = session.execute(_KEY_ROW.where(ApiKey.prefix == prefix)).one_or_none()
    if row is None:
        hmac.compare_digest(_digest(secret), _digest(""))  # the same work whether the prefix exists or not
        raise errors.Unauthenticated()
    tenant_active = row.brand_active if row.brand_id is not None else (
        row.store_status is not None and row.store_status != LocationStatus.closed)
    if not hmac.compare_digest(row.secret_hash, _digest(secret)) or row.revoked_at is not None or not row.active \
            or not tenant_active:
        raise errors.Unauthenticated()
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last > LAST_USE_EVERY:
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
        session.commit()
    return Caller(key_id=row.id, prefix=prefix, scopes=frozenset(row.scopes.split(",")), language=row.language,
                  brand_id=row.brand_id, store_id=row.store_id, user_id=row.user_id, session=session)
