"""Sign-in sessions (Flask-Login) and the store scope of every store page.

The rules themselves live in `retail.services.access`; this module only applies them to requests.
A session is bound to the password it was opened with: changing the password signs out other devices.
"""
from __future__ import annotations

import hashlib
from functools import wraps

from flask import Flask, abort, g, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required
from flask_wtf.csrf import CSRFError

from retail import errors
from retail.app import db_session
from retail.models import User
from retail.services import access, storeview


class SignedIn(UserMixin):
    """The signed-in person, as Flask-Login sees them; `record` is the User row."""

    def __init__(self, user: User):
        self.record = user

    def get_id(self) -> str:
        return f"{self.record.id}:{_fingerprint(self.record)}"


def _fingerprint(user: User) -> str:
    """Changes with the password hash, reveals nothing of it."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def _load(session_id: str) -> SignedIn | None:
    user_id, _, fingerprint = (session_id or "").partition(":")
    if not user_id.isdigit():
        return None
    user = db_session().get(User, int(user_id))
    if user is None or not user.active or _fingerprint(user) != fingerprint:
        return None
    return SignedIn(user)


def init_app(app: Flask) -> None:
    manager = LoginManager(app)
    manager.user_loader(_load)
    manager.login_view = "auth.login"
    manager.login_message = None
    manager.session_protection = "basic"

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return render_template("error.html", status=400, reason="csrf"), 400

    @app.errorhandler(403)
    def _forbidden(_error):
        return render_template("error.html", status=403, reason="forbidden"), 403

    @app.errorhandler(404)
    def _missing(_error):
        return render_template("error.html", status=404, reason="missing"), 404


def store_page(view):
    """A page of one store: signed in, allowed in that store (403 otherwise), and the store known (404)."""

    @wraps(view)
    @login_required
    def wrapper(store_id: int, **kwargs):
        try:
            access.check_store(current_user.record, store_id)
        except errors.Forbidden:
            abort(403)
        try:
            g.store = storeview.store(db_session(), store_id)
        except errors.NotFound:
            abort(404)
        return view(g.store, **kwargs)

    return wrapper


def admin_page(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        try:
            access.check_admin(current_user.record)
        except errors.Forbidden:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def me() -> User:
    return current_user.record


def next_url(default: str) -> str:
    target = request.args.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


def landing():
    """Where a signed-in person starts: their store, the store picker, or nothing (brand partners)."""
    user = me()
    store_id = access.home_store_id(user)
    if store_id is not None:
        return redirect(url_for("store.home", store_id=store_id))
    if access.may_pick_any_store(user):
        return redirect(url_for("store.pick"))
    abort(403)
