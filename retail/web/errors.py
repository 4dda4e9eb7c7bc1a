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

from flask import Flask, current_app, render_template, request, url_for
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

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


def init_app(app: Flask) -> None:
    @app.errorhandler(errors.Forbidden)
    def _forbidden(_exc):
        return render_template("error.html", status=403, reason="forbidden"), 403

    @app.errorhandler(errors.NotFound)
    def _not_found(_exc):
        return render_template("error.html", status=404, reason="missing"), 404

    @app.errorhandler(errors.DomainError)
    def _refused(exc):
        return render_template("error.html", status=422, reason="refused", message=describe(exc)), 422

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return render_template("error.html", status=413, reason="too_large", max_mb=limit // (1024 * 1024),
                               back=_back()), 413

    @app.errorhandler(BadRequest)
    def _bad_request(_exc):
        return render_template("error.html", status=400, reason="bad_request", back=_back()), 400


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
