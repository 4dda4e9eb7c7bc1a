"""People: their password and language, and the administration of user accounts.

Hashing and sign-in live in `accounts`; this module changes who people are and what they may do.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from retail import errors
from retail.models import Location, Role, User
from retail.services import accounts, audit
from retail.services.verbs import ADMIN, SELF, query, verb

MIN_PASSWORD_LENGTH = 10
LANGUAGES = ("zh_Hans", "zh_Hant", "en")
ROLES = tuple(r.value for r in Role)


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise errors.NotFound(what="User", key=user_id)
    return user


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise errors.WeakPassword(min_length=MIN_PASSWORD_LENGTH)


@verb(SELF)
def change_password(session: Session, actor: User, *, current: str, new: str) -> User:
    """The signed-in person changes their own password (the current one is required)."""
    user = _user(session, actor.id)
    if accounts.authenticate(session, email=user.email, password=current) is None:
        raise errors.WrongPassword()
    _check_password(new)
    user.password_hash = accounts.hash_password(new)
    user.session_version = (user.session_version or 0) + 1  # every session opened with the old password ends
    audit.record(session, actor_id=user.id, action="user.password_changed", entity="user", entity_id=user.id)
    session.flush()
    return user


@verb(SELF)
def sign_out_everywhere(session: Session, actor: User) -> None:
    """End every session the person holds (this cookie and any copy of it): the session version moves on."""
    session.execute(update(User).where(User.id == actor.id).values(session_version=User.session_version + 1)
                    .execution_options(synchronize_session=False))


@verb(SELF)
def set_language(session: Session, actor: User, *, language: str) -> User:
    """The signed-in person's language for pages and emails."""
    if language not in LANGUAGES:
        raise errors.InvalidValue(field="language", value=language)
    user = _user(session, actor.id)
    user.language = language
    session.flush()
    return user


@query
def find_users(session: Session, *, query: str = "", limit: int = 100) -> list[User]:
    q = select(User)
    text = (query or "").strip().lower()
    if text:
        like = f"%{text}%"
        q = q.outerjoin(Location, Location.id == User.store_id).where(or_(
            func.lower(User.email).like(like), func.lower(User.name).like(like), func.lower(Location.code).like(like)))
    return list(session.execute(q.order_by(User.email).limit(limit)).scalars())


def _apply(session: Session, user: User, *, name: str, role: str, store_code: str | None, brand_id: int | None,
           language: str) -> None:
    name = (name or "").strip()
    if not name:
        raise errors.MissingValue(field="name")
    if role not in ROLES:
        raise errors.InvalidValue(field="role", value=role)
    if language not in LANGUAGES:
        raise errors.InvalidValue(field="language", value=language)
    store_id = None
    code = (store_code or "").strip().upper()
    if role in (Role.store_staff, Role.store_manager):
        if not code:
            raise errors.MissingValue(field="store")
        store = session.execute(select(Location).where(func.upper(Location.code) == code)).scalars().first()
        if store is None:
            raise errors.UnknownLocation(location=code)
        store_id = store.id
    if role == Role.brand_partner and brand_id is None:
        raise errors.MissingValue(field="brand")
    user.name, user.role, user.store_id, user.language = name, role, store_id, language
    user.brand_id = brand_id if role == Role.brand_partner else None


@verb(ADMIN)
def create_user(session: Session, actor: User, *, email: str, name: str, role: str, password: str,
                store_code: str | None = None, brand_id: int | None = None, language: str = "zh_Hans") -> User:
    email = (email or "").strip().lower()
    if "@" not in email:
        raise errors.InvalidValue(field="email", value=email)
    if session.execute(select(User.id).where(func.lower(User.email) == email)).first():
        raise errors.AlreadyExists(what="User", key=email)
    _check_password(password)
    user = User(email=email, name="", role=role)
    _apply(session, user, name=name, role=role, store_code=store_code, brand_id=brand_id, language=language)
    user.password_hash = accounts.hash_password(password)
    session.add(user)
    session.flush()
    audit.record(session, actor_id=actor.id, action="user.created", entity="user", entity_id=user.id)
    session.flush()
    return user


@verb(ADMIN)
def update_user(session: Session, actor: User, *, user_id: int, name: str, role: str, store_code: str | None = None,
                brand_id: int | None = None, language: str = "zh_Hans", active: bool = True) -> User:
    user = _user(session, user_id)
    _apply(session, user, name=name, role=role, store_code=store_code, brand_id=brand_id, language=language)
    if user.active and not active:
        user.session_version = (user.session_version or 0) + 1  # deactivated here too: every session ends
    user.active = active
    audit.record(session, actor_id=actor.id, action="user.updated", entity="user", entity_id=user.id)
    session.flush()
    return user


@verb(ADMIN)
def deactivate_user(session: Session, actor: User, *, user_id: int) -> User:
    user = _user(session, user_id)
    user.active = False
    user.session_version = (user.session_version or 0) + 1  # revoked for good, even if reactivated later
    audit.record(session, actor_id=actor.id, action="user.deactivated", entity="user", entity_id=user.id)
    session.flush()
    return user


@query
def get_user(session: Session, *, user_id: int) -> User:
    return _user(session, user_id)


@query
def store_code(session: Session, user: User) -> str:
    store = session.get(Location, user.store_id) if user.store_id else None
    return store.code if store else ""
