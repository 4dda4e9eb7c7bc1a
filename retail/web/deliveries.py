"""Deliveries on their way to the store, signing for one, and deciding a surplus counted on arrival."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail import errors, parsing
from retail.request_db import db_session
from retail.services import deliveries
from retail.web.access import me, store_page
from retail.web.errors import form_page
from retail.web.forms import serials

bp = Blueprint("deliveries", __name__, url_prefix="/stores/<int:store_id>")


@bp.get("/deliveries")
@store_page
def index(store):
    session = db_session()
    return render_template("deliveries.html", store=store,
                           deliveries=deliveries.open_deliveries(session, store_id=store.id),
                           surpluses=deliveries.held_surpluses(session, store_id=store.id))


def _receive_page(store, shipment_id: int, error=None, form=None):
    shipment, lines = deliveries.open_delivery(db_session(), store_id=store.id, shipment_id=shipment_id)
    return render_template("receive.html", store=store, shipment=shipment, lines=lines, form=form or {},
                           error=error, may_decide=deliveries.may_decide_surplus(me(), store.id))


@bp.route("/deliveries/<int:shipment_id>", methods=["GET", "POST"])
@store_page
@form_page(_receive_page)
def receive(store, shipment_id: int):
    """Each line has a count box (`received-<SKU>`, empty: as shipped); a serialised line also has a scan
    box (`serials-<SKU>`): the serials scanned are the units that arrived, and its count, if typed, must
    agree. A count above the shipped quantity is held as a surplus, not stock."""
    if request.method == "POST":
        session = db_session()
        _shipment, lines = deliveries.open_delivery(session, store_id=store.id, shipment_id=shipment_id)
        received, scanned = {}, {}
        for _line, product in lines:
            count = parsing.count(request.form.get(f"received-{product.sku}"), field="received")
            if count is not None:
                received[product.sku] = count
            if product.serialised:
                scanned[product.sku] = serials(request.form.get(f"serials-{product.sku}"))
        shipment = deliveries.receive(session, me(), store_id=store.id, shipment_id=shipment_id,
                                      received=received, serials=scanned)
        flash(_("Delivery %(reference)s received.", reference=shipment.reference))
        _shipment, lines = deliveries.open_delivery(session, store_id=store.id, shipment_id=shipment_id)
        for line, product in lines:
            if line.received_quantity != line.quantity:
                flash(_("%(sku)s: %(shipped)s shipped, %(received)s received; the difference is recorded.",
                        sku=product.sku, shipped=line.quantity, received=line.received_quantity), "warning")
            if line.surplus:
                flash(_("%(sku)s: %(surplus)s unit(s) more than shipped are held for a manager's decision; "
                        "they are not in stock.", sku=product.sku, surplus=line.surplus), "warning")
        return redirect(url_for(".index", store_id=store.id))
    return _receive_page(store, shipment_id)


@bp.post("/deliveries/<int:shipment_id>/surplus")
@store_page
@form_page(_receive_page)
def decide_surplus(store, shipment_id: int):
    """The store's manager (or a planner or admin) accepts a held surplus into stock, or refuses it."""
    decision = request.form.get("decision")
    if decision not in ("accept", "refuse"):
        raise errors.InvalidValue(field="decision", value=parsing.shown(decision or ""))
    deliveries.decide_surplus(db_session(), me(), store_id=store.id, shipment_id=shipment_id,
                              sku=parsing.sku(request.form.get("sku")), accept=decision == "accept")
    flash(_("Surplus accepted into stock.") if decision == "accept"
          else _("Surplus refused: it stays recorded as a discrepancy."))
    return redirect(url_for(".receive", store_id=store.id, shipment_id=shipment_id))
