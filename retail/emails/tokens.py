"""The signed unsubscribe link: the person's id, signed with SECRET_KEY (no sign-in needed to opt out).

No expiry: a link in a months-old email still works. Forging one needs SECRET_KEY; a leaked link can
only opt its own person out (and they can opt in again on their account page).
"""
from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "weekly-email-unsubscribe"


def unsubscribe_token(secret: str, user_id: int) -> str:
    return URLSafeSerializer(secret, salt=SALT).dumps(int(user_id))


def user_from_token(secret: str, token: str) -> int | None:
    """The person a token names, or None when it was not signed by us (or is malformed)."""
    if not token or len(token) > 200:
        return None
    try:
        value = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
