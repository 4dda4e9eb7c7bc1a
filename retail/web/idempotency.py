"""Every form that writes carries a one-time key (`idempotency_key`, a hidden field of the `csrf()` macro in
_form.html), drawn fresh each time the form is shown: a retried or doubled post can be told from a new one."""
from __future__ import annotations

import uuid

from flask import Flask


def new_key() -> str:
    return uuid.uuid4().hex


def init_app(app: Flask) -> None:
    app.add_template_global(new_key, name="idempotency_key")
