"""Customer orders (the endless aisle): take an order for a customer, follow it, receive it, hand it over or
cancel it; as the origin store, ship what other stores ordered from it; as a planner, ship what the DC holds
for customer orders. Thin views over `retail.services.customer_orders`."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail.request_db import db_session
from retail.services import customer_orders as orders
from retail.services import products
from retail.web.access import me, store_page
from retail.web.dashboard import network_page
from retail.web.errors import form_page
from retail.web.forms import integer, text

bp = Blueprint("customer_orders", __name__)


def _list_page(store, error=None, form=None):
    session = db_session()
    return render_template(
        "customer_orders.html", store=store, error=error,
        form=form or {"sku": text(request.args.get("sku")), "quantity": "1", "fulfilment": "pickup"},
        mine=orders.orders_of_store(session, store_id=store.id),
        to_ship=orders.to_ship(session, store_id=store.id),
        choices=products.choices(session, store_id=store.id), max_quantity=orders.MAX_QUANTITY)


@bp.route("/stores/<int:store_id>/customer-orders", methods=["GET", "POST"])
@store_page
@form_page(_list_page)
def index(store):
    if request.method == "POST":
        form = request.form
        order = orders.place(
            db_session(), me(), store_id=store.id, sku=text(form.get("sku")),
            quantity=integer(form.get("quantity"), default=1), deposit=text(form.get("deposit")) or None,
            promised_date=text(form.get("promised_date")) or None, fulfilment=text(form.get("fulfilment")) or "pickup",
            customer_ref=text(form.get("customer_ref")), contact=text(form.get("contact")) or None,
            address=text(form.get("address")) or None)
        if order.state == "placed":
            flash(_("Customer order %(reference)s taken: no store nearby and not the DC can send it yet; it "
                    "waits.", reference=orders.reference(order.id)), "warning")
        else:
            flash(_("Customer order %(reference)s taken.", reference=orders.reference(order.id)))
        return redirect(url_for(".order", store_id=store.id, order_id=order.id))
    return _list_page(store)


def _order_page(store, order_id: int, error=None, form=None):
    session = db_session()
    detail = orders.detail(session, store_id=store.id, order_id=order_id)
    expected = [] if detail.is_origin else orders.shipment_serials(session, store_id=store.id, order_id=order_id)
    return render_template("customer_order.html", store=store, d=detail, error=error, form=form or {},
                           expected_serials=expected, reference=orders.reference(order_id))


@bp.get("/stores/<int:store_id>/customer-orders/<int:order_id>")
@store_page
def order(store, order_id: int):
    return _order_page(store, order_id)


def _done(store, order_id: int, message: str):
    flash(message)
    return redirect(url_for(".order", store_id=store.id, order_id=order_id))


@bp.post("/stores/<int:store_id>/customer-orders/<int:order_id>/source")
@store_page
@form_page(_order_page)
def source(store, order_id: int):
    orders.source(db_session(), me(), store_id=store.id, order_id=order_id)
    return _done(store, order_id, _("A source was found: the order is on its way to being sent."))


@bp.post("/stores/<int:store_id>/customer-orders/<int:order_id>/ship")
@store_page
@form_page(_order_page)
def ship(store, order_id: int):
    orders.ship(db_session(), me(), store_id=store.id, order_id=order_id, serials=text(request.form.get("serials")))
    return _done(store, order_id, _("Shipped: the ordering store receives it for its customer."))


@bp.post("/stores/<int:store_id>/customer-orders/<int:order_id>/arrive")
@store_page
@form_page(_order_page)
def arrive(store, order_id: int):
    orders.arrive(db_session(), me(), store_id=store.id, order_id=order_id, serials=text(request.form.get("serials")))
    return _done(store, order_id, _("Received: the units are held for the customer."))


@bp.post("/stores/<int:store_id>/customer-orders/<int:order_id>/hand-over")
@store_page
@form_page(_order_page)
def hand_over(store, order_id: int):
    order = orders.hand_over(db_session(), me(), store_id=store.id, order_id=order_id)
    return _done(store, order_id, _("Handed over: sale %(number)s recorded.", number=order.sale_movement_id))


@bp.post("/stores/<int:store_id>/customer-orders/<int:order_id>/cancel")
@store_page
@form_page(_order_page)
def cancel(store, order_id: int):
    orders.cancel(db_session(), me(), store_id=store.id, order_id=order_id, reason=text(request.form.get("reason")))
    return _done(store, order_id, _("Customer order cancelled; the deposit is recorded as refunded."))


def _dc_page(error=None, form=None):
    return render_template("customer_orders_dc.html", rows=orders.dc_open(db_session()), error=error)


@bp.get("/customer-orders/dc")
@network_page
def dc():
    return _dc_page()


@bp.post("/customer-orders/dc/<int:order_id>/ship")
@network_page
@form_page(lambda order_id, error=None, form=None: _dc_page(error=error, form=form))
def dc_ship(order_id: int):
    orders.ship_from_dc(db_session(), me(), order_id=order_id)
    flash(_("Customer order %(reference)s shipped from the DC.", reference=orders.reference(order_id)))
    return redirect(url_for(".dc"))
