"""Administration of stores, users and brands (admins only): list and search, create, edit, deactivate.

One list template and one form template serve the three areas; each area says which fields it has
and which service verbs it calls.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from retail import errors
from retail.request_db import db_session
from retail.services import brands, people, stores
from retail.web.access import admin_page, me
from retail.web.errors import form_page
from retail.web.forms import text, whole
from retail.web.i18n import LANGUAGES

bp = Blueprint("admin", __name__, url_prefix="/admin")


@dataclass(frozen=True)
class Field:
    name: str
    label: object
    kind: str = "text"  # text | number | email | password | select | checkbox
    choices: tuple = ()
    on_create_only: bool = False


ROLE_LABELS = (("store_staff", _l("Store staff")), ("store_manager", _l("Store manager")), ("planner", _l("Planner")),
               ("admin", _l("Administrator")), ("brand_partner", _l("Brand partner")))
AREAS = {
    "stores": [Field("code", _l("Code"), on_create_only=True), Field("name", _l("Name")), Field("city", _l("City")),
               Field("city_zh", _l("City (Chinese)")), Field("province", _l("Province")),
               Field("city_tier", _l("City tier"), "number"),
               Field("market", _l("Market"), "select", (("CN", _l("Mainland China (CNY)")), ("HK", _l("Hong Kong (HKD)")))),
               Field("partnership", _l("Partnership"), "select",
                     (("franchise", _l("Franchise")), ("consignment", _l("Consignment")))),
               Field("status", _l("Status"), "select", (("active", _l("Active")), ("suspended", _l("Suspended")),
                                                         ("closed", _l("Closed")))),
               Field("dc_code", _l("Warehouse code"))],
    "users": [Field("email", _l("Email"), "email", on_create_only=True), Field("name", _l("Name")),
              Field("role", _l("Role"), "select", ROLE_LABELS), Field("store_code", _l("Store code")),
              Field("brand_id", _l("Brand"), "select"),
              Field("language", _l("Language"), "select", tuple(LANGUAGES.items())),
              Field("password", _l("Password"), "password", on_create_only=True),
              Field("active", _l("Active"), "checkbox")],
    "brands": [Field("code", _l("Code"), on_create_only=True), Field("name", _l("Name")),
               Field("name_zh", _l("Chinese name")), Field("lead_time_days", _l("Lead time (days)"), "number"),
               Field("moq", _l("Minimum order quantity"), "number"), Field("contact_email", _l("Contact email"), "email"),
               Field("active", _l("Active"), "checkbox")],
}
TITLES = {"stores": _l("Stores"), "users": _l("Users"), "brands": _l("Brands")}


def _fields(area: str, creating: bool) -> list[Field]:
    fields = [f for f in AREAS[area] if creating or not f.on_create_only]
    if area == "users":
        brand_choices = (("", "—"),) + tuple((str(b.id), b.name) for b in brands.find_brands(db_session()))
        fields = [Field(f.name, f.label, f.kind, brand_choices) if f.name == "brand_id" else f for f in fields]
    if creating:
        fields = [f for f in fields if not (f.name == "status" or (f.kind == "checkbox"))]
    return fields


def _rows(area: str, query: str) -> list[tuple[int, str, str, bool]]:
    """(id, title, detail, active) for the list page."""
    session = db_session()
    if area == "stores":
        return [(s.id, f"{s.code} · {s.name}", f"{s.city_zh or s.city} · {s.market} · {s.partnership or ''}",
                 s.status == "active") for s in stores.find(session, query=query, limit=100)]
    if area == "users":
        return [(u.id, u.email, f"{u.name} · {u.role}", u.active) for u in people.find_users(session, query=query)]
    return [(b.id, f"{b.code} · {b.name}", b.name_zh, b.active) for b in brands.find_brands(session, query=query)]


def _current(area: str, item_id: int) -> dict:
    session = db_session()
    if area == "stores":
        s = stores.get_store(session, store_id=item_id)
        return {**s.model_dump(), "dc_code": stores.dc_code(session, s)}
    if area == "users":
        u = people.get_user(session, user_id=item_id)
        return {**u.model_dump(exclude={"password_hash"}), "store_code": people.store_code(session, u),
                "brand_id": str(u.brand_id or "")}
    return brands.get_brand(db_session(), brand_id=item_id).model_dump()


def _save(area: str, item_id: int | None, form) -> None:
    session = db_session()
    if area == "stores":
        values = dict(name=text(form.get("name")), city=text(form.get("city")), city_zh=text(form.get("city_zh")),
                      province=text(form.get("province")), city_tier=whole(form.get("city_tier"), field="city_tier",
                                                                           default=3),
                      market=form.get("market", "CN"), partnership=form.get("partnership", "franchise"),
                      dc_code=text(form.get("dc_code")))
        if item_id is None:
            stores.create_store(session, me(), code=text(form.get("code")), **values)
        else:
            stores.update_store(session, me(), store_id=item_id, status=form.get("status", "active"), **values)
    elif area == "users":
        brand = whole(form.get("brand_id"), field="brand")
        values = dict(name=text(form.get("name")), role=form.get("role", ""), store_code=text(form.get("store_code")),
                      brand_id=brand, language=form.get("language", "zh_Hans"))
        if item_id is None:
            people.create_user(session, me(), email=text(form.get("email")), password=form.get("password", ""), **values)
        else:
            people.update_user(session, me(), user_id=item_id, active=bool(form.get("active")), **values)
    else:
        values = dict(name=text(form.get("name")), name_zh=text(form.get("name_zh")),
                      lead_time_days=whole(form.get("lead_time_days"), field="lead_time_days", default=14),
                      moq=whole(form.get("moq"), field="moq", default=1), contact_email=text(form.get("contact_email")))
        if item_id is None:
            brands.create_brand(session, me(), code=text(form.get("code")), **values)
        else:
            brands.update_brand(session, me(), brand_id=item_id, active=bool(form.get("active")), **values)


def _area(area: str) -> str:
    if area not in AREAS:
        raise errors.NotFound(what="Area", key=area)
    return area


@bp.get("/")
@admin_page
def index():
    return redirect(url_for(".items", area="stores"))


@bp.get("/<area>")
@admin_page
def items(area: str):
    query = text(request.args.get("q"))
    return render_template("admin_list.html", area=_area(area), title=TITLES[area], q=query,
                           rows=_rows(area, query), areas=TITLES)


def _form_page(area: str, item_id: int | None, error=None, form=None):
    if form is None:
        form = _current(area, item_id) if item_id else {"active": True}
    return render_template("admin_form.html", area=area, title=TITLES[area], item_id=item_id, form=form,
                           fields=_fields(area, item_id is None), error=error, areas=TITLES)


@bp.route("/<area>/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/<area>/<int:item_id>", methods=["GET", "POST"])
@admin_page
@form_page(_form_page)
def edit(area: str, item_id: int | None):
    _area(area)
    if request.method == "POST":
        _save(area, item_id, request.form)
        flash(_l("Saved."))
        return redirect(url_for(".items", area=area))
    return _form_page(area, item_id)


@bp.post("/<area>/<int:item_id>/deactivate")
@admin_page
def deactivate(area: str, item_id: int):
    session = db_session()
    verbs = {"stores": lambda: stores.deactivate_store(session, me(), store_id=item_id),
             "users": lambda: people.deactivate_user(session, me(), user_id=item_id),
             "brands": lambda: brands.deactivate_brand(session, me(), brand_id=item_id)}
    verbs[_area(area)]()
    flash(_l("Deactivated."))
    return redirect(url_for(".items", area=area))
