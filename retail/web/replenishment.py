"""Replenishment review: the store's suggested order, editable, submitted by the store manager."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail import errors
from retail.app import db_session
from retail.services import access, replenishment, storeview
from retail.web.access import me, store_page
from retail.web.forms import integer
from retail.web.messages import describe

bp = Blueprint("replenishment", __name__, url_prefix="/stores/<int:store_id>")


def _quantities(form, suggestion) -> dict[int, int]:
    """`qty-<product id>` per line; empty keeps the suggested quantity, 0 drops the line, and the
    service refuses anything that is not a whole number of zero or more."""
    return {product.id: integer(form.get(f"qty-{product.id}"), default=line.quantity)
            for line, product, _ordered in suggestion.lines}


@bp.route("/replenishment", methods=["GET", "POST"])
@store_page
def review(store):
    session = db_session()
    suggestion = storeview.suggested_order(session, store_id=store.id)
    may_submit = access.may_submit_orders(me(), store.id)
    error = None
    if request.method == "POST":
        if not may_submit:
            abort(403)
        if suggestion is None:
            abort(404)
        try:
            order = replenishment.submit(session, run_id=suggestion.run.id, store_id=store.id,
                                         quantities=_quantities(request.form, suggestion), actor_id=me().id)
        except errors.DomainError as exc:
            session.rollback()
            error = describe(exc)
        else:
            flash(_("Order %(reference)s submitted.", reference=order.reference))
            return redirect(url_for(".review", store_id=store.id))
    return render_template("replenishment.html", store=store, suggestion=suggestion, may_submit=may_submit,
                           form=request.form, error=error), 422 if error else 200
