"""Liveness and readiness probes for the load balancer and the container's HEALTHCHECK."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from retail.migrate import current_revision, head_revision

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    engine = current_app.extensions["engine"]
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = current_revision(engine)
    except Exception as exc:  # the probe reports any failure to reach the database
        return jsonify(status="unavailable", database="unreachable", error=type(exc).__name__), 503
    head = head_revision()
    if current != head:
        return jsonify(status="unavailable", database="ok", migration=current, expected=head), 503
    return jsonify(status="ok", database="ok", migration=current)
