"""Turning what a person typed into plain values for the services. Nothing here judges a value:
the services do, and their refusals become messages in `messages`."""
from __future__ import annotations

import unicodedata

from retail import errors


def text(value: str | None) -> str:
    """NFKC folds full-width digits and letters (１２３ -> 123) that Chinese keyboards produce."""
    return unicodedata.normalize("NFKC", value or "").strip()


def integer(value: str | None, *, default: int | None = None) -> int | None:
    raw = text(value)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise errors.InvalidQuantity(quantity=raw) from None


def counted_quantities(form, prefix: str = "counted-") -> dict[str, int]:
    """The count form sends one field per SKU, `counted-<sku>`; empty fields were not counted."""
    counted = {}
    for key, value in form.items():
        if key.startswith(prefix) and text(value):
            counted[key[len(prefix):]] = integer(value)
    return counted


def whole(value: str | None, *, field: str, default: int | None = None) -> int | None:
    """A whole number for a setting (lead time, tier); the service judges its range."""
    raw = text(value)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise errors.InvalidValue(field=field, value=raw) from None
