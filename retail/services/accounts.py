"""People and their sign-in secrets. Passwords are hashed with argon2id; hashes are upgraded on sign-in."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlmodel import Session

from retail.models import User
from retail.services.verbs import public

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@public
def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Rehashes when parameters have risen."""
    user = session.execute(
        select(User).where(func.lower(User.email) == (email or "").strip().lower())
    ).scalars().first()
    if user is None or not user.active or not user.password_hash:
        _hasher.hash(password or "")  # same work either way: no timing oracle for unknown emails
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.commit()
    return user
