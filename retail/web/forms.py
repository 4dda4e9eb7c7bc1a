"""Turning what a person typed into plain values for the services, through `retail.parsing`.

Thin wrappers kept for the views: every value is read by the one parser of its kind, so a form, the
POS import and the API read it alike, and every value is bounded (nothing here can overflow a column
or take more than linear time). The services judge the values against the business rules; their
refusals, and the parsers', become messages in `messages`.
"""
from __future__ import annotations

from retail import errors, parsing

MAX_FORM_TEXT = parsing.MAX_FORM_TEXT


def text(value: str | None, *, field: str = "text", max_length: int = MAX_FORM_TEXT) -> str:
    """Any typed field: NFKC (１２３ -> 123), control characters away, stripped; "" when empty.
    Longer than `max_length` is refused (`TooLong`), never cut."""
    return parsing.text(value, field=field, max_length=max_length) or ""


def note(value: str | None, *, field: str = "note", required: bool = False) -> str | None:
    """A note or reason: at most `parsing.MAX_TEXT_LENGTH` (240) characters; None when empty."""
    return parsing.text(value, field=field, max_length=parsing.MAX_TEXT_LENGTH, required=required)


def integer(value: str | None, *, default: int | None = None, field: str = "quantity", minimum: int = 0,
            maximum: int = parsing.MAX_INTEGER) -> int | None:
    """A whole number of zero or more that fits an INTEGER column (`InvalidQuantity` otherwise); empty
    gives `default`. Quantities are better read with `quantity`, ids with `identifier`."""
    return parsing.quantity(value, field=field, minimum=minimum, maximum=maximum, default=default)


def quantity(value: str | None, *, default: int | None = None, field: str = "quantity",
             minimum: int = 1) -> int | None:
    """A number of units, 1 to `parsing.MAX_QUANTITY` (`InvalidQuantity` otherwise)."""
    return parsing.quantity(value, field=field, minimum=minimum, default=default)


def identifier(value: str | None, *, field: str, default: int | None = None) -> int | None:
    """A number that names a row (a sale number): 1 to 2,147,483,647 (`InvalidValue` otherwise)."""
    return parsing.identifier(value, field=field, default=default)


def serials(value: str | None) -> list[str]:
    """Scanned serial numbers, de-duplicated, at most `parsing.MAX_SERIALS`."""
    return parsing.serials(value)


def counted_quantities(form, prefix: str = "counted-") -> dict[str, int]:
    """The count form sends one field per SKU, `counted-<sku>`; empty fields were not counted.
    Each count is 0 to `parsing.MAX_QUANTITY`; at most `parsing.MAX_LINES` fields are read."""
    counted = {}
    for key, value in form.items():
        if not key.startswith(prefix) or not text(value):
            continue
        if len(counted) >= parsing.MAX_LINES:
            raise errors.TooMany(field="counted", limit=parsing.MAX_LINES)
        counted[parsing.sku(key[len(prefix):])] = parsing.count(value)
    return counted


def whole(value: str | None, *, field: str, default: int | None = None, minimum: int = 0,
          maximum: int = parsing.MAX_INTEGER) -> int | None:
    """A whole number for a setting (lead time, tier, MOQ, an id): bounded here to what a column holds;
    the service judges its range. `InvalidValue(field, value)` otherwise."""
    return parsing.whole(value, field=field, minimum=minimum, maximum=maximum, default=default)
