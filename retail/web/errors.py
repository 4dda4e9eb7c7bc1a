"""Refusals become HTTP responses here, and only here.

- A verb refused inside a form view: `form_page` shows the form again with the message in the reader's
  language and what they typed, status 422. The verb has already rolled its transaction back.
- Anything else escaping a view: Forbidden is 403, NotFound 404 (also for another store's objects, so
  that their existence is not confirmed), any other DomainError 422, each on the translated error page.
- What Werkzeug refuses before a view runs: a body over MAX_CONTENT_LENGTH is 413, a request it cannot
  read (a malformed form) 400, on the same page with a way back (a CSRF failure has its own 400 page).
"""
from __future__ import annotations

import inspect
from functools import wraps

from flask import Flask, current_app, g, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import BadRequest, InternalServerError, MethodNotAllowed, RequestEntityTooLarge

from retail import errors
from retail.messages import describe


def _back() -> str | None:
    """The page the refused request came from, for a link back: the upload page for a POS file, the
    form's own page for a form that is also shown by GET. Only this app's own routes, never a header."""
    rule, args = request.url_rule, request.view_args or {}
    if rule is None:
        return None
    if (rule.endpoint or "").startswith("pos_import.") and "store_id" in args:
        return url_for("pos_import.upload", store_id=args["store_id"])
    if "GET" in (rule.methods or ()):
        return url_for(rule.endpoint, **args)
    return None


def _with_navigation() -> None:
    """An error page keeps the store's navigation: the store of the page when it was known, else the
    signed-in person's own store. Best effort: an error page never fails for want of its navigation."""
    if getattr(g, "store", None) is not None:
        return
    try:
        if not current_user.is_authenticated:
            return
        from retail.request_db import db_session
        from retail.services import access, stores

        store_id = access.home_store_id(current_user.record)
        if store_id is not None:
            g.store = stores.get_store(db_session(), store_id=store_id)
    except Exception:  # noqa: BLE001 - the page of a failure must render
        g.store = None


def error_page(status: int, reason: str, **context):
    _with_navigation()
    return render_template("error.html", status=status, reason=reason, **context), status


def init_app(app: Flask) -> None:
    @app.errorhandler(MethodNotAllowed)
    def _method(exc):
        page, status = error_page(405, "method", back=_back() if "GET" in (exc.valid_methods or ()) else None)
        return page, status, {"Allow": ", ".join(exc.valid_methods or ())}

    @app.errorhandler(InternalServerError)
    def _failed(_exc):
        return error_page(500, "failed")

    @app.errorhandler(errors.Forbidden)
    def _forbidden(_exc):
        return error_page(403, "forbidden")

    @app.errorhandler(errors.NotFound)
    def _not_found(_exc):
        return error_page(404, "missing")

    @app.errorhandler(errors.DomainError)
    def _refused(exc):
        return error_page(422, "refused", message=describe(exc))

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return error_page(413, "too_large", max_mb=limit // (1024 * 1024), back=_back())

    @app.errorhandler(BadRequest)
    def _bad_request(_exc):
        return error_page(400, "bad_request", back=_back())


def form_page(render):
    """Decorate a view whose POST calls a verb. `render(*args, error=None, form=None, **kwargs)` (the
    view's own arguments) draws its page; a refusal re-renders it with the message and the submitted
    form, status 422 (and the refusal itself, when `render` takes `refusal`: a POS file's row errors).
    Forbidden propagates (403); NotFound raised while drawing the page propagates (404)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except errors.Forbidden:
                raise
            except errors.DomainError as exc:
                extra = {"refusal": exc} if "refusal" in inspect.signature(render).parameters else {}
                return render(*args, error=describe(exc), form=request.form, **extra, **kwargs), 422

        return wrapper

    return decorate
