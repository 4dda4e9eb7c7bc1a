"""Administration of stores, users and brands (admins only)."""
from __future__ import annotations

from flask import Blueprint

from retail.web.access import admin_page

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/stores")
@admin_page
def stores():
    return ""
