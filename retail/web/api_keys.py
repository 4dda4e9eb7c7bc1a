"""Admins' page of the partner API keys: list them, create one (shown once, on the answer to the form,
never stored or put in a cookie), rotate and revoke. The CLI (`flask apikeys`) does the same."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from retail.request_db import db_session
from retail.services import api_keys
from retail.web.access import admin_page, me
from retail.web.errors import form_page
from retail.web.forms import text

bp = Blueprint("api_keys", __name__, url_prefix="/admin/api-keys")

LANGUAGE_LABELS = (("", _l("By the tenant (store's market; English for brands)")), ("zh_Hans", "简体中文"),
                   ("zh_Hant", "繁體中文"), ("en", "English"))


def _page(error=None, form=None, new=None, status=200):
    return render_template("admin_api_keys.html", keys=api_keys.keys(db_session()), error=error, form=form or {},
                           new=new, languages=LANGUAGE_LABELS), status


@bp.get("/")
@admin_page
def index():
    return _page()


@bp.post("/")
@admin_page
@form_page(lambda error=None, form=None: _page(error, form)[0])
def create():
    form = request.form
    tenant, code = form.get("tenant", ""), text(form.get("code"))
    new = api_keys.create_key(db_session(), me(), name=text(form.get("name")), scopes=form.get("scopes", "read"),
                              brand_code=code if tenant == "brand" else None,
                              store_code=code if tenant == "store" else None,
                              language=form.get("language") or None)
    return _page(new=new, status=201)


@bp.post("/<int:key_id>/rotate")
@admin_page
def rotate(key_id: int):
    new = api_keys.rotate_key(db_session(), me(), key_id=key_id)
    return _page(new=new, status=201)


@bp.post("/<int:key_id>/revoke")
@admin_page
def revoke(key_id: int):
    api_keys.revoke_key(db_session(), me(), key_id=key_id)
    flash(_l("Revoked: the key stops working at once."))
    return redirect(url_for(".index"))
