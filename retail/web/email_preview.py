"""The weekly emails on the web: the admin preview of anyone's email for any week, and the signed
unsubscribe link (no sign-in; RFC 8058 one-click POST from mail clients too)."""
from __future__ import annotations

import base64

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from retail import errors
from retail.emails import tokens
from retail.emails.compose import CHART_CID, Composer
from retail.models import utcnow
from retail.request_db import db_session
from retail.services import outbox, weekly_digest
from retail.web.access import admin_page, me
from retail.web.forms import text

bp = Blueprint("emails", __name__)
# The previewed email is a document of its own: inline styles (the email's inlined CSS) and its chart as a
# data: image, nothing else (no script, no request out).
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"


def _week(value: str | None):
    if not value:
        return weekly_digest.current_week(utcnow())
    return weekly_digest.parse_week(value)


@bp.get("/admin/emails")
@admin_page
def preview():
    """?user=<id or email>&week=YYYY-Www[&part=html|text]: the email as the batch would send it now."""
    who, week_text = text(request.args.get("user"), max_length=254), text(request.args.get("week"), max_length=8)
    part = request.args.get("part", "")
    context = {"who": who, "week": week_text, "error": None, "rendered": None, "recipient": None}
    if not who:
        return render_template("email_preview.html", **context)
    session = db_session()
    try:
        week = _week(week_text)
    except errors.DomainError:
        context["error"] = week_text
        return render_template("email_preview.html", **context), 422
    recipient = weekly_digest.find_recipient(session, who=who)
    data = weekly_digest.load_for(session, recipient=recipient, week=week)
    rendered = Composer(current_app.config["SETTINGS"]).render(recipient, weekly_digest.digest_for(data, recipient))
    if part == "html":
        chart = "data:image/png;base64," + base64.b64encode(rendered.png).decode()
        response = make_response(rendered.html.replace(f"cid:{CHART_CID}", chart))
        response.headers["Content-Security-Policy"] = PREVIEW_CSP
        return response
    if part == "text":
        response = make_response(rendered.text)
        response.mimetype = "text/plain"
        return response
    context.update(rendered=rendered, recipient=recipient, chart_b64=base64.b64encode(rendered.png).decode(), week=weekly_digest.week_label(week),
                   opted_out=outbox.opted_out(session, user_id=recipient.user_id),
                   stale=weekly_digest.stale_reason(session, step="emails", week=week))
    return render_template("email_preview.html", **context)


def _user_of(token: str) -> int:
    user_id = tokens.user_from_token(current_app.config["SECRET_KEY"], token)
    if user_id is None:
        abort(404)
    return user_id


@bp.get("/emails/unsubscribe/<token>")
def unsubscribe(token: str):
    """The link in every email: a page with one button (a GET alone changes nothing: mail scanners open links)."""
    user_id = _user_of(token)
    done = outbox.opted_out(db_session(), user_id=user_id)
    return render_template("email_unsubscribe.html", token=token, done=done,
                           signed_in=current_user.is_authenticated)


@bp.post("/emails/unsubscribe/<token>")
def unsubscribe_post(token: str):
    """The button, and mail clients' one-click unsubscribe (RFC 8058): the signed token is the authority, so
    this route is exempt from the CSRF check (web/__init__.py)."""
    user_id = _user_of(token)
    if not outbox.unsubscribe(db_session(), user_id=user_id):
        abort(404)
    return render_template("email_unsubscribe.html", token=token, done=True, signed_in=current_user.is_authenticated)


@bp.route("/account/emails", methods=["GET", "POST"])
@login_required
def settings():
    """The signed-in person's own choice: the weekly email on or off."""
    session = db_session()
    if request.method == "POST":
        enabled = outbox.set_weekly_email(session, me(), enabled=request.form.get("weekly") == "on")
        flash(_("You will receive the weekly email.") if enabled else _("You will no longer receive the weekly email."))
        return redirect(url_for(".settings"))
    return render_template("email_settings.html", enabled=not outbox.opted_out(session, user_id=me().id))
