"""Sign-in, sign-out, password change and the language switch."""
from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from retail import errors
from retail.app import db_session
from retail.services import accounts, people
from retail.web.access import SignedIn, landing, me, next_url
from retail.web.forms import text
from retail.web.i18n import LANGUAGES
from retail.web.messages import describe

bp = Blueprint("auth", __name__)

SIGN_IN_LIMIT = "5 per minute"


def _sign_in_key() -> str:
    # Per address and account: one shop's staff share an address, a guesser hammers one account.
    return f"{get_remote_address()}|{text(request.form.get('email')).lower()}"


def limit_sign_in(app: Flask, *, storage_uri: str) -> None:
    """Flask-Limiter on the sign-in POST; memory is per worker, so production sets REDIS_URL."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri, key_prefix="retail-web",
                      headers_enabled=True)
    view = app.view_functions["auth.login"]
    app.view_functions["auth.login"] = limiter.limit(SIGN_IN_LIMIT, key_func=_sign_in_key, methods=["POST"])(view)

    @app.errorhandler(429)
    def _too_many(_error):
        return render_template("login.html", form=request.form,
                               error=_("Too many attempts. Wait a minute and try again.")), 429


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
            login_user(SignedIn(user), remember=False)
            session.pop("lang", None)
            return redirect(next_url(url_for("auth.index")))
        error = _("The email or the password is not correct.")
    elif current_user.is_authenticated:
        return landing()
    return render_template("login.html", form=request.form, error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    error = None
    if request.method == "POST":
        try:
            user = people.change_password(db_session(), user_id=me().id, current=request.form.get("current", ""),
                                          new=request.form.get("new", ""))
        except errors.DomainError as exc:
            db_session().rollback()
            error = describe(exc)
        else:
            login_user(SignedIn(user))  # the session follows the new password; other devices are signed out
            flash(_("Your password has been changed."))
            return redirect(url_for("auth.index"))
    return render_template("password.html", error=error), 422 if error else 200


@bp.post("/language")
def language():
    choice = request.form.get("language", "")
    if choice in LANGUAGES:
        session["lang"] = choice
        if current_user.is_authenticated:
            people.set_language(db_session(), user_id=me().id, language=choice)
    return redirect(next_url(url_for("auth.index")))
