"""The database session of one HTTP request, shared by the web pages and the partner API.

Opened on first use, closed at teardown (registered by the application factory). Verbs own their
transactions (`retail.services.verbs`); this only scopes the session to the request.
"""
from __future__ import annotations

from flask import current_app, g
from sqlmodel import Session

from retail.db import new_session


def db_session() -> Session:
    """The request's database session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = new_session(current_app.extensions["engine"])
    return g.db


def close_session(_exc=None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
