"""At the till: record a sale and a missed sale."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail.models import utcnow
from retail.request_db import db_session
from retail.services import customer_orders, products, sales
from retail.web.access import me, store_page
from retail.web.errors import form_page
from retail.web.forms import integer, text

bp = Blueprint("sales", __name__, url_prefix="/stores/<int:store_id>")


def _sale_page(store, error=None, form=None):
    session = db_session()
    return render_template("sale.html", store=store, form=form or {"sku": request.args.get("sku", "")},
                           error=error, choices=products.choices(session, store_id=store.id),
                           recent=sales.recent(session, store_id=store.id, limit=5),
                           shown_only=customer_orders.shown_here(session, store_id=store.id))


@bp.route("/sale", methods=["GET", "POST"])
@store_page
@form_page(_sale_page)
def sale(store):
    if request.method == "POST":
        form = request.form
        movement = sales.sell(db_session(), me(), store_id=store.id, sku=text(form.get("sku")),
                              quantity=integer(form.get("quantity")), serials=text(form.get("serials")))
        flash(_("Sale %(number)s recorded: %(units)s unit(s).", number=movement.id, units=-movement.quantity))
        return redirect(url_for(".sale", store_id=store.id))
    return _sale_page(store)


def _missed_page(store, error=None, form=None):
    return render_template("missed.html", store=store, form=form or {"sku": request.args.get("sku", "")},
                           error=error, reasons=sales.MISSED_SALE_REASONS,
                           recent=sales.recent_missed(db_session(), store_id=store.id, limit=5),
                           choices=products.catalogue_choices(db_session(), as_of=utcnow().date()))


@bp.route("/missed", methods=["GET", "POST"])
@store_page
@form_page(_missed_page)
def missed(store):
    if request.method == "POST":
        form = request.form
        sales.record_missed_sale(db_session(), me(), store_id=store.id, sku=text(form.get("sku")),
                                 quantity=integer(form.get("quantity"), default=1),
                                 reason=form.get("reason", "out_of_stock"), note=text(form.get("note")))
        flash(_("Missed sale recorded. Thank you: it helps the forecast see the demand."))
        return redirect(url_for(".missed", store_id=store.id))
    return _missed_page(store)
