"""At the till: record a sale, a missed sale, a return."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail import errors
from retail.app import db_session
from retail.services import storeops, storeview
from retail.web.access import me, store_page
from retail.web.forms import integer, text
from retail.web.messages import describe

bp = Blueprint("sales", __name__, url_prefix="/stores/<int:store_id>")


def _refused(exc: errors.DomainError) -> str:
    db_session().rollback()
    return describe(exc)


@bp.route("/sale", methods=["GET", "POST"])
@store_page
def sale(store):
    error = None
    if request.method == "POST":
        form = request.form
        try:
            movement = storeops.sell(db_session(), store_id=store.id, sku=text(form.get("sku")),
                                     quantity=integer(form.get("quantity")), serials=text(form.get("serials")),
                                     actor_id=me().id)
        except errors.DomainError as exc:
            error = _refused(exc)
        else:
            flash(_("Sale %(number)s recorded: %(units)s unit(s).", number=movement.id, units=-movement.quantity))
            return redirect(url_for(".sale", store_id=store.id))
    session = db_session()
    return render_template("sale.html", store=store, form=request.form if error else {"sku": request.args.get("sku", "")},
                           error=error, choices=storeview.product_choices(session, store_id=store.id),
                           recent=storeview.recent_sales(session, store_id=store.id, limit=5)), 422 if error else 200


@bp.route("/missed", methods=["GET", "POST"])
@store_page
def missed(store):
    error = None
    if request.method == "POST":
        form = request.form
        try:
            storeops.record_missed_sale(db_session(), store_id=store.id, sku=text(form.get("sku")),
                                        quantity=integer(form.get("quantity"), default=1),
                                        reason=form.get("reason", "out_of_stock"), note=text(form.get("note")),
                                        actor_id=me().id)
        except errors.DomainError as exc:
            error = _refused(exc)
        else:
            flash(_("Missed sale recorded. Thank you: it helps the forecast see the demand."))
            return redirect(url_for(".missed", store_id=store.id))
    session = db_session()
    return render_template("missed.html", store=store, form=request.form if error else {"sku": request.args.get("sku", "")},
                           error=error, reasons=storeops.MISSED_SALE_REASONS,
                           recent=storeview.missed_sales(session, store_id=store.id, limit=5)), 422 if error else 200


@bp.route("/return", methods=["GET", "POST"])
@store_page
def return_(store):
    error = None
    if request.method == "POST":
        form = request.form
        try:
            movements = storeops.record_return(db_session(), store_id=store.id, serials=text(form.get("serials")),
                                               sale_id=integer(form.get("sale")),
                                               quantity=integer(form.get("quantity")), actor_id=me().id)
        except errors.DomainError as exc:
            error = _refused(exc)
        else:
            flash(_("Return recorded: %(units)s unit(s) back in stock.", units=sum(m.quantity for m in movements)))
            return redirect(url_for(".return_", store_id=store.id))
    return render_template("return.html", store=store, form=request.form if error else {"sale": request.args.get("sale", "")},
                           error=error, recent=storeview.recent_sales(db_session(), store_id=store.id, limit=10)), \
        422 if error else 200
