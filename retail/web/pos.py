"""POS import: upload the till's export, preview it with row-numbered errors, confirm to apply."""
from __future__ import annotations

from flask import Blueprint

from retail.web.access import store_page

bp = Blueprint("pos", __name__, url_prefix="/stores/<int:store_id>/pos")


@bp.get("/")
@store_page
def upload(store):  # the real pages follow once retail.services.pos_import exists
    return ""
