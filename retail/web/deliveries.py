"""Deliveries on their way to the store, and signing for one."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail.request_db import db_session
from retail.services import deliveries
from retail.web.access import me, store_page
from retail.web.errors import form_page
from retail.web.forms import integer

bp = Blueprint("deliveries", __name__, url_prefix="/stores/<int:store_id>")


@bp.get("/deliveries")
@store_page
def index(store):
    return render_template("deliveries.html", store=store,
                           deliveries=deliveries.open_deliveries(db_session(), store_id=store.id))


def _receive_page(store, shipment_id: int, error=None, form=None):
    shipment, lines = deliveries.open_delivery(db_session(), store_id=store.id, shipment_id=shipment_id)
    return render_template("receive.html", store=store, shipment=shipment, lines=lines, form=form or {},
                           error=error)


@bp.route("/deliveries/<int:shipment_id>", methods=["GET", "POST"])
@store_page
@form_page(_receive_page)
def receive(store, shipment_id: int):
    if request.method == "POST":
        session = db_session()
        _shipment, lines = deliveries.open_delivery(session, store_id=store.id, shipment_id=shipment_id)
        received = {product.sku: integer(request.form.get(f"received-{product.sku}"), default=line.quantity)
                    for line, product in lines}
        shipment = deliveries.receive(session, me(), store_id=store.id, shipment_id=shipment_id, received=received)
        flash(_("Delivery %(reference)s received.", reference=shipment.reference))
        for line, product in lines:
            if received[product.sku] != line.quantity:
                flash(_("%(sku)s: %(shipped)s shipped, %(received)s received; the difference is recorded.",
                        sku=product.sku, shipped=line.quantity, received=received[product.sku]), "warning")
        return redirect(url_for(".index", store_id=store.id))
    return _receive_page(store, shipment_id)
