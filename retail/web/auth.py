"""Sign-in, sign-out, password change and the language switch."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, logout_user

from retail.request_db import db_session
from retail.services import accounts, people
from retail.web.access import landing, me, next_url, start_session
from retail.web.errors import form_page
from retail.web.i18n import LANGUAGES

bp = Blueprint("auth", __name__)

# Password guesses are counted twice, on the sign-in and password-change forms together:
# per account, whatever address they come from (a guesser hopping addresses), and per address,
# whatever account they name (spraying one password over the predictable staff emails). The
# per-address limit is higher because a shop's staff share one address.
ACCOUNT_LIMIT = "5 per minute;20 per hour"
ADDRESS_LIMIT = "10 per minute;100 per hour"
GUARDED = ("auth.login", "auth.password")


def _account_key() -> str:
    """The account a guess is aimed at: the email typed in (normalised as `accounts.authenticate` does),
    or the signed-in person's on the password form. Hashed: no addresses kept in the limiter's store."""
    if request.endpoint == "auth.password" and current_user.is_authenticated:
        email = me().email
    else:
        email = request.form.get("email") or ""
    return "account:" + hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()


def _address_key() -> str:
    return f"address:{get_remote_address()}"


def limit_sign_in(app: Flask, *, storage_uri: str) -> None:
    """Flask-Limiter on the sign-in and password-change POSTs; memory is per worker, so production
    needs REDIS_URL (the settings refuse to start without it)."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri, key_prefix="retail-web",
                      headers_enabled=True)
    per_account = limiter.shared_limit(ACCOUNT_LIMIT, scope="guess-account", key_func=_account_key,
                                       methods=["POST"])
    per_address = limiter.shared_limit(ADDRESS_LIMIT, scope="guess-address", key_func=_address_key,
                                       methods=["POST"])
    for endpoint in GUARDED:
        app.view_functions[endpoint] = per_address(per_account(app.view_functions[endpoint]))

    @limiter.request_filter
    def _unguarded() -> bool:
        """Every other request skips the limiter's per-request work (about 0.12 ms an API call): only the
        guarded forms have limits here; the API counts per key (retail/api/core.py)."""
        return request.endpoint not in GUARDED

    @app.errorhandler(429)
    def _too_many(_error):
        message = _("Too many attempts. Wait a minute and try again.")
        if request.endpoint == "auth.password":
            return render_template("password.html", error=message), 429
        return render_template("login.html", form=request.form, error=message), 429


@bp.route("/")
@login_required
def index():
    return landing()


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        user = accounts.authenticate(db_session(), email=request.form.get("email", ""),
                                     password=request.form.get("password", ""))
        if user is not None:
            target = next_url(url_for("auth.index"))
            start_session(user)  # a new session: the anonymous one's CSRF token and language go
            return redirect(target)
        error = _("The email or the password is not correct.")
    elif current_user.is_authenticated:
        return landing()
    return render_template("login.html", form=request.form, error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        people.sign_out_everywhere(db_session(), me())  # a copy of this cookie (a shared device, a proxy log) dies with it
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def _password_page(error=None, form=None):
    return render_template("password.html", error=error)


@bp.route("/password", methods=["GET", "POST"])
@login_required
@form_page(_password_page)
def password():
    if request.method == "POST":
        user = people.change_password(db_session(), me(), current=request.form.get("current", ""),
                                      new=request.form.get("new", ""))
        start_session(user)  # this session follows the new password; every other one is revoked
        flash(_("Your password has been changed."))
        return redirect(url_for("auth.index"))
    return _password_page()


@bp.post("/language")
def language():
    choice = request.form.get("language", "")
    if choice in LANGUAGES:
        session["lang"] = choice
        if current_user.is_authenticated:
            people.set_language(db_session(), me(), language=choice)
    return redirect(next_url(url_for("auth.index")))
