"""Sign-in sessions (Flask-Login) and the store scope of every store page.

The rules themselves live in `retail.services.access`; this module only applies them to requests.
A session's id names the user, their session version and a keyed fingerprint of both and the password
hash. Signing out, deactivation and a password change raise the version, which revokes every copy of
every session of that person (a cookie copied off a shared shop device included). A session also ends
after `SESSION_IDLE_MINUTES` without a request and `SESSION_LIFETIME_HOURS` after sign-in.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta
from functools import wraps

from flask import Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError

from retail import errors
from retail.models import User
from retail.request_db import db_session
from retail.services import access, stores
from retail.services.verbs import ADMIN, STORE, check_scope
from retail.web.security import safe_path


class SignedIn(UserMixin):
    """The signed-in person, as Flask-Login sees them; `record` is the User row."""

    def __init__(self, user: User):
        self.record = user

    def get_id(self) -> str:
        return f"{self.record.id}:{self.record.session_version or 0}:{_fingerprint(self.record)}"


def _fingerprint(user: User) -> str:
    """Keyed by the app's secret and bound to the user, their session version and password hash:
    different for every person (with or without a password), reveals nothing of the hash."""
    message = f"{user.id}:{user.session_version or 0}:{user.password_hash or ''}".encode()
    return hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def _load(session_id: str) -> SignedIn | None:
    user_id, version, fingerprint = ((session_id or "").split(":") + ["", ""])[:3]
    if not (user_id.isdigit() and version.isdigit() and len(user_id) < 12):
        return None
    user = db_session().get(User, int(user_id))
    if user is None or not user.active or int(version) != (user.session_version or 0):
        return None
    if not hmac.compare_digest(_fingerprint(user), fingerprint):
        return None
    return SignedIn(user)


def _now() -> float:
    return time.time()


def start_session(user: User) -> None:
    """Sign in with a fresh session: nothing of the anonymous one survives (its CSRF token included)."""
    session.clear()
    login_user(SignedIn(user), remember=False)
    session["signed_in_at"] = session["seen_at"] = int(_now())


def _expire_idle_sessions(idle: int, lifetime: int):
    def check() -> None:
        if "_user_id" not in session:
            return
        now = int(_now())
        signed_in_at, seen_at = session.get("signed_in_at"), session.get("seen_at")
        if (not isinstance(signed_in_at, int) or not isinstance(seen_at, int)
                or now - seen_at > idle or now - signed_in_at > lifetime):
            logout_user()
            session.clear()
        elif now - seen_at >= 60:  # re-signed at most once a minute, not on every request
            session["seen_at"] = now

    return check


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    idle, lifetime = settings.session_idle_minutes * 60, settings.session_lifetime_hours * 3600
    # The cookie's own signature expires too: a session unused for the idle time is refused even unread.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=min(idle, lifetime))
    manager = LoginManager(app)
    manager.user_loader(_load)
    manager.login_view = "auth.login"
    manager.login_message = None
    manager.session_protection = "basic"
    app.before_request(_expire_idle_sessions(idle, lifetime))

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return render_template("error.html", status=400, reason="csrf"), 400

    @app.errorhandler(403)
    def _forbidden(_error):
        return render_template("error.html", status=403, reason="forbidden"), 403

    @app.errorhandler(404)
    def _missing(_error):
        from retail.web.errors import error_page

        return error_page(404, "missing")


def store_page(view):
    """A page of one store: signed in, allowed in that store (403 otherwise), and the store known (404)."""

    @wraps(view)
    @login_required
    def wrapper(store_id: int, **kwargs):
        check_scope(current_user.record, STORE, store_id)  # Forbidden -> 403 (retail/web/errors.py)
        g.store = stores.get_store(db_session(), store_id=store_id)  # NotFound -> 404
        return view(g.store, **kwargs)

    return wrapper


def admin_page(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        check_scope(current_user.record, ADMIN, None)
        return view(*args, **kwargs)

    return wrapper


def me() -> User:
    return current_user.record


def next_url(default: str) -> str:
    """The `?next=` page if it is a path on this site (`security.safe_path`), else `default`."""
    return safe_path(request.args.get("next")) or default


def landing():
    """Where a signed-in person starts: their store, the store picker, or nothing (brand partners)."""
    user = me()
    store_id = access.home_store_id(user)
    if store_id is not None:
        return redirect(url_for("store.home", store_id=store_id))
    if access.may_pick_any_store(user):
        return redirect(url_for("store.pick"))
    raise errors.Forbidden(what="store pages")
