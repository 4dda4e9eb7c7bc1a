"""The words of a suggested order's reasons, in the reader's language. The forecasting core returns codes
and numbers (`forecasting.replenishment.reasons`); their sentences are `retail.messages.LINE_REASONS`, which
the partner API reads too."""
from __future__ import annotations

from flask import Flask
from flask_babel import format_decimal, gettext

from retail.messages import LINE_REASONS
from retail.services import replenishment


def _shown(value):
    return format_decimal(value, "#,##0.#") if isinstance(value, float) else value


def words(line) -> list[str]:
    """The sentences of a suggested line (`SuggestedLine`), in the reader's language."""
    out = []
    for code, params in replenishment.line_reasons(line):
        message = LINE_REASONS.get(code)
        if message is not None:
            out.append(gettext(message, **{k: _shown(v) for k, v in params.items()}))
    return out


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(reason_words=words)
