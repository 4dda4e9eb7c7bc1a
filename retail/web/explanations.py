"""The words of a suggested order's reasons, in the reader's language. The forecasting core returns codes
and numbers (`forecasting.replenishment.reasons`); this is the one table from a code to its sentence."""
from __future__ import annotations

from flask import Flask
from flask_babel import format_decimal, gettext

from retail.messages import N_
from retail.services import replenishment

REASONS = {
    "end_of_life": N_("The model is at the end of its life: it is not reordered."),
    "expected_sales": N_("Expected to sell about %(units)s in the next %(weeks)s weeks (delivery time and the week "
                         "until the next order)."),
    "service_level": N_("To have enough in %(percent)s weeks out of 100, the shelf needs %(units)s."),
    "one_on_shelf": N_("We keep one on the shelf so that a customer can take it home: about %(units)s sales are "
                       "expected while it waits."),
    "expected_on_shelf": N_("Expected to sell about %(units)s while a unit waits on the shelf."),
    "held_when_likely": N_("A unit is kept when its chance of selling is at least %(chance)s%%, weighed against "
                           "what it costs to hold: %(units)s on the shelf."),
    "display_minimum": N_("The brand asks for at least %(units)s on display."),
    "position": N_("You have %(on_hand)s on hand and %(coming)s on the way; to reach %(target)s, %(need)s more "
                   "are needed."),
    "packs": N_("It comes in packs of %(pack)s: %(units)s."),
    "shelf_full": N_("%(units)s fewer: the shelf is full."),
    "suggest": N_("Suggested: %(units)s."),
    "demo_unit": N_("A demo unit: the store shows this model and sells it to order (its range is show only)."),
}


def _shown(value):
    return format_decimal(value, "#,##0.#") if isinstance(value, float) else value


def words(line) -> list[str]:
    """The sentences of a suggested line (`SuggestedLine`), in the reader's language."""
    out = []
    for code, params in replenishment.line_reasons(line):
        message = REASONS.get(code)
        if message is not None:
            out.append(gettext(message, **{k: _shown(v) for k, v in params.items()}))
    return out


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(reason_words=words)
