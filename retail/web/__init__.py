"""Server-rendered pages for store staff, planners and admins: sign-in, store scoping, languages,
CSRF and rate limits are wired here; each area is a blueprint of thin views over the services."""
from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from retail.config import Settings


class BoundedInt(IntegerConverter):
    regex = r"\d{1,10}"

    def __init__(self, url_map, fixed_digits=0, min=1, max=2**31 - 1, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


def register(app: Flask, settings: Settings) -> None:
    from flask_wtf.csrf import CSRFProtect

    from retail.web import access, errors, i18n, idempotency, security
    from retail.web.admin import bp as admin_bp
    from retail.web.api_keys import bp as api_keys_bp
    from retail.web.auth import bp as auth_bp
    from retail.web.auth import limit_sign_in
    from retail.web.counts import bp as counts_bp
    from retail.web.customer_orders import bp as customer_orders_bp
    from retail.web.dashboard import bp as dashboard_bp
    from retail.web.deliveries import bp as deliveries_bp
    from retail.web.demo_units import bp as demo_units_bp
    from retail.web.email_preview import bp as emails_bp
    from retail.web.email_preview import unsubscribe_post
    from retail.web.pos_import import bp as pos_import_bp
    from retail.web.ranging import bp as ranging_bp
    from retail.web.replenishment import bp as replenishment_bp
    from retail.web.returns import bp as returns_bp
    from retail.web.sales import bp as sales_bp
    from retail.web.settlement import bp as settlement_bp
    from retail.web.store import bp as store_bp
    from retail.web.transfers import bp as transfers_bp

    # Uploads (POS files) up to 8 MB. Previewed files are staged server-side (the confirmation carries only
    # their hash), so no text field needs more than a few hundred KB: a bigger form is refused at once (413).
    app.config.update(MAX_CONTENT_LENGTH=8 * 1024 * 1024, MAX_FORM_MEMORY_SIZE=1024 * 1024,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=settings.secure_cookies)
    # Ids in URLs are 1 to 2,147,483,647 (an INTEGER column), at most 10 digits read: anything else is 404.
    app.url_map.converters["int"] = BoundedInt
    csrf = CSRFProtect(app)
    csrf.exempt(unsubscribe_post)  # mail clients' one-click unsubscribe (RFC 8058): the signed token authorises
    access.init_app(app)
    errors.init_app(app)
    idempotency.init_app(app)
    i18n.init_app(app)
    for blueprint in (auth_bp, store_bp, sales_bp, returns_bp, deliveries_bp, counts_bp, demo_units_bp, transfers_bp,
                      replenishment_bp, pos_import_bp, admin_bp, api_keys_bp, emails_bp, settlement_bp, dashboard_bp,
                      ranging_bp, customer_orders_bp):
        app.register_blueprint(blueprint)
    limit_sign_in(app, storage_uri=settings.redis_url or "memory://")
    security.init_app(app, settings)
