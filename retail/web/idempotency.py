"""Every form that writes carries a one-time key (`idempotency_key`, a hidden field of the `csrf()` macro in
_form.html), drawn fresh each time the form is shown: a retried or doubled post acts once.

A signed-in person's POST with a key gets its fingerprint (method, path, the form and files without the
key and the CSRF token) and is checked here first: a key this person already used answers at once, like the
first success (303 back to the form page, "already recorded") when the content is the same, and 422 when it
differs. Otherwise the key rides on the request's database session (`session.info[REQUEST_KEY]`) and the
verb's transaction records it together with its effect (`retail.services.verbs.transaction`): of two
concurrent twins the second finds the key taken there, its transaction rolls back, and it answers the same
303. Posts without a key (older pages, scripts) act as before.
"""
from __future__ import annotations

import functools
import hashlib
import re
import uuid

from flask import Flask, current_app, flash, redirect, request
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from retail import errors
from retail.messages import message
from retail.models import REQUEST_KEY, IdempotencyKey, RequestKey
from retail.request_db import db_session

FIELD = "idempotency_key"
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NOT_CONTENT = {FIELD, "csrf_token"}


def new_key() -> str:
    return uuid.uuid4().hex


def fingerprint() -> str:
    """The request without its key: method, path and query, every form value in order, every file's name and
    content hash."""
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for name, value in sorted(request.form.items(multi=True)):
        if name not in _NOT_CONTENT:
            digest.update(f"{name}={value}".encode("utf-8", "surrogatepass") + b"\0")
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: (item[0], item[1].filename or "")):
        content = hashlib.sha256()
        for chunk in iter(functools.partial(upload.stream.read, 1 << 16), b""):
            content.update(chunk)
        upload.stream.seek(0)
        digest.update(f"{name}:{upload.filename}:{content.hexdigest()}".encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def _form_page() -> str:
    """Where the first success's answer leads back to: the page posted to when it can be shown (the sale
    form), else the nearest page above it (`/stores/7/transfers/5` for `/stores/7/transfers/5/ship`), else
    the start page."""
    urls = current_app.url_map.bind_to_environ(request.environ)
    path = request.path.rstrip("/") or "/"
    while path != "/":
        try:
            urls.match(path, method="GET")
            return path
        except HTTPException:
            path = path.rsplit("/", 1)[0] or "/"
    return "/"


def _already_recorded(_exc=None):
    flash(message("already_recorded"), "warning")
    return redirect(_form_page(), code=303)


def repeatable(view):
    """Mark a posting view that changes nothing and may be sent again as it is (a POS file's preview): its
    key is not recorded, so a reload shows the page again instead of "already recorded"."""
    view.repeatable = True
    return view


def _take_key():
    """Before the view: a signed-in person's post with a well-formed key is checked and its key handed to
    the verb's transaction."""
    if request.method != "POST" or not current_user.is_authenticated:
        return None
    if getattr(current_app.view_functions.get(request.endpoint), "repeatable", False):
        return None
    key = request.form.get(FIELD, "")
    if not _KEY.fullmatch(key):
        return None  # no key (or not one of ours): the post acts as before
    request_key = RequestKey(user_id=current_user.record.id, key=key, fingerprint=fingerprint())
    session = db_session()
    first = session.execute(select(IdempotencyKey.fingerprint).where(
        IdempotencyKey.user_id == request_key.user_id, IdempotencyKey.key == key)).scalar_one_or_none()
    if first is not None:
        if first == request_key.fingerprint:
            return _already_recorded()
        raise errors.RequestKeyReused()
    session.info[REQUEST_KEY] = request_key
    return None


def init_app(app: Flask) -> None:
    app.add_template_global(new_key, name="idempotency_key")
    app.before_request(_take_key)
    app.register_error_handler(errors.AlreadyRecorded, _already_recorded)
