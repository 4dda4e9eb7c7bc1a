"""Replenishment review: the store's suggested order, editable, submitted by the store manager."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail import errors
from retail.request_db import db_session
from retail.services import access, replenishment
from retail.web.access import me, store_page
from retail.web.errors import form_page
from retail.web.forms import integer

bp = Blueprint("replenishment", __name__, url_prefix="/stores/<int:store_id>")


def _quantities(form, suggestion) -> dict[int, int]:
    """`qty-<product id>` per line; empty keeps the suggested quantity, 0 drops the line, and the
    service refuses anything that is not a whole number of zero or more."""
    return {product.id: integer(form.get(f"qty-{product.id}"), default=line.quantity)
            for line, product, _ordered in suggestion.lines}


def _review_page(store, error=None, form=None):
    return render_template("replenishment.html", store=store,
                           suggestion=replenishment.suggested_order(db_session(), store_id=store.id),
                           may_submit=access.may_submit_orders(me(), store.id), form=form or {}, error=error)


@bp.route("/replenishment", methods=["GET", "POST"])
@store_page
@form_page(_review_page)
def review(store):
    if request.method == "POST":
        session = db_session()
        suggestion = replenishment.suggested_order(session, store_id=store.id)
        if suggestion is None:
            raise errors.NotFound(what="Suggested order", key=store.id)
        order = replenishment.submit(session, me(), store_id=store.id, run_id=suggestion.run.id,
                                     quantities=_quantities(request.form, suggestion))
        flash(_("Order %(reference)s submitted.", reference=order.reference))
        return redirect(url_for(".review", store_id=store.id))
    return _review_page(store)
