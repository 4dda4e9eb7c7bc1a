"""The application factory: configuration, database, logging, blueprints and CLI in one place."""
from __future__ import annotations

import time
import uuid

import structlog
from flask import Flask, g, request

from retail import logs
from retail.config import INSTANCE_DIR, Settings, load_settings
from retail.db import make_engine
from retail.request_db import close_session


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    settings = settings or load_settings(**overrides)
    app = _new_app()
    app.config.update(SECRET_KEY=settings.effective_secret_key, SETTINGS=settings,
                      TESTING=settings.env == "test")
    if settings.is_sqlite:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    app.extensions["engine"] = make_engine(settings.database_url)
    logs.configure(settings.log_level, json=settings.log_json)

    _register_request_logging(app)
    app.teardown_appcontext(close_session)

    from retail.web.health import bp as health_bp

    app.register_blueprint(health_bp)

    from retail.web import register as register_web

    register_web(app, settings)

    from retail.api import register as register_api

    register_api(app, settings)  # after the web: it exempts its blueprints from the web's CSRF check

    from retail.cli import register as register_cli

    register_cli(app)
    return app


def _new_app() -> Flask:
    """A Flask application that also writes the partner API's OpenAPI 3.1 document (flask-openapi3's
    OpenAPI is a Flask subclass: the web pages and the CLI are unaffected)."""
    from flask_openapi3 import Info, OpenAPI

    from retail.api.core import validation_problem

    return OpenAPI(
        __name__, instance_path=str(INSTANCE_DIR),
        info=Info(title="Smart-glasses retail: partner and franchise API", version="1.0.0",
                  description="Brand partners and franchise stores: catalogue, stock, sell-through, forecasts, "
                              "purchase orders and shipment notices; sales, returns, deliveries and orders. "
                              "Quick start: docs/api.md."),
        security_schemes={"bearerAuth": {"type": "http", "scheme": "bearer",
                                         "description": "An API key: `Authorization: Bearer rtl_...`"}},
        doc_prefix="/api/v1/docs", doc_url="/openapi.json",
        validation_error_status=422, validation_error_callback=validation_problem,
    )


def _register_request_logging(app: Flask) -> None:
    log = structlog.get_logger("retail.request")

    @app.before_request
    def _start():
        rid = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        g.request_id, g.started = rid, time.perf_counter()
        structlog.contextvars.bind_contextvars(request_id=rid)

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if request.path not in ("/healthz", "/readyz"):
            log.info("request", method=request.method, path=request.path, status=response.status_code,
                     ms=round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1))
        structlog.contextvars.clear_contextvars()
        return response
