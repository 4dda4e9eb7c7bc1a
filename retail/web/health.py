"""Liveness and readiness probes for the load balancer and the container's HEALTHCHECK.

Anyone can reach them, so a failure says only "unavailable"; what failed goes to the log.
"""
from __future__ import annotations

import structlog
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from retail.migrate import current_revision, head_revision

bp = Blueprint("health", __name__)
log = structlog.get_logger("retail.health")


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
        log.warning("readyz", database="unreachable", error=type(exc).__name__, detail=str(exc)[:500])
        return jsonify(status="unavailable"), 503
    head = head_revision()
    if current != head:
        log.warning("readyz", database="ok", migration=current, expected=head)
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok", database="ok", migration=current)
