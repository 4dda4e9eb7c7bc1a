"""Transfer requests: ask another store for units; as the origin, ship or decline what another store
asked for; cancel one's own request while it waits."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail.request_db import db_session
from retail.services import products, transfers
from retail.web.access import me, store_page
from retail.web.errors import form_page
from retail.web.forms import integer, text

bp = Blueprint("transfers", __name__, url_prefix="/stores/<int:store_id>")


def _list_page(store, error=None, form=None):
    session = db_session()
    sku = text(request.values.get("sku"))
    return render_template(
        "transfers.html", store=store, form=form or {"sku": sku}, error=error,
        holders=transfers.stores_with_stock(session, sku=sku, exclude_store_id=store.id) if sku else [],
        incoming=transfers.requests(session, store_id=store.id, incoming=True),
        outgoing=transfers.requests(session, store_id=store.id, incoming=False),
        choices=products.choices(session, store_id=store.id))


@bp.route("/transfers", methods=["GET", "POST"])
@store_page
@form_page(_list_page)
def index(store):
    if request.method == "POST":
        form = request.form
        transfers.request_transfer(db_session(), me(), store_id=store.id, from_store_code=text(form.get("from_store")),
                                   sku=text(form.get("sku")), quantity=integer(form.get("quantity"), default=1),
                                   note=text(form.get("note")))
        flash(_("Transfer requested."))
        return redirect(url_for(".index", store_id=store.id))
    return _list_page(store)


def _transfer_page(store, transfer_id: int, error=None, form=None):
    detail = transfers.detail(db_session(), store_id=store.id, transfer_id=transfer_id)
    return render_template("transfer.html", store=store, t=detail, error=error, form=form or {})


@bp.get("/transfers/<int:transfer_id>")
@store_page
def transfer(store, transfer_id: int):
    return _transfer_page(store, transfer_id)


def _answered(store, transfer_id: int, message: str):
    flash(message)
    return redirect(url_for(".transfer", store_id=store.id, transfer_id=transfer_id))


@bp.post("/transfers/<int:transfer_id>/ship")
@store_page
@form_page(_transfer_page)
def ship_transfer(store, transfer_id: int):
    t = transfers.ship_transfer(db_session(), me(), store_id=store.id, transfer_id=transfer_id,
                                serials=text(request.form.get("serials")))
    return _answered(store, transfer_id, _("Shipped as %(reference)s: the other store receives it under its "
                                           "deliveries.", reference=transfers.transfer_reference(t.id)))


@bp.post("/transfers/<int:transfer_id>/decline")
@store_page
@form_page(_transfer_page)
def decline_transfer(store, transfer_id: int):
    t = transfers.decline_transfer(db_session(), me(), store_id=store.id, transfer_id=transfer_id,
                                   reason=text(request.form.get("reason")))
    return _answered(store, transfer_id, _("Transfer request %(number)s declined.", number=t.id))


@bp.post("/transfers/<int:transfer_id>/cancel")
@store_page
@form_page(_transfer_page)
def cancel_transfer(store, transfer_id: int):
    t = transfers.cancel_transfer(db_session(), me(), store_id=store.id, transfer_id=transfer_id)
    return _answered(store, transfer_id, _("Transfer request %(number)s cancelled.", number=t.id))
