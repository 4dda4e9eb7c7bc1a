"""Counting the shelf, and a manager's decision on a count held for approval."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail.models import CountStatus, utcnow
from retail.request_db import db_session
from retail.services import access, counts, products, stock
from retail.web.access import me, store_page
from retail.web.errors import form_page
from retail.web.forms import counted_quantities, text

bp = Blueprint("counts", __name__, url_prefix="/stores/<int:store_id>")


def _count_page(store, error=None, form=None, check=None):
    session = db_session()
    return render_template("count.html", store=store, lines=stock.stock_lines(session, store_id=store.id,
                                                                                  as_of=utcnow()),
                           form=form or {}, error=error, counts=counts.recent(session, store_id=store.id),
                           choices=products.choices(session, store_id=store.id), check=check)


@bp.route("/count", methods=["GET", "POST"])
@store_page
@form_page(_count_page)
def count(store):
    if request.method == "POST":
        shelf = text(request.form.get("shelf")) or None  # the whole shelf scanned into one box
        if request.form.get("action") == "check":  # sort the scan, show it, write nothing: the clerk confirms
            check = counts.check_shelf(db_session(), store_id=store.id, serials=shelf or "")
            return _count_page(store, form=request.form, check=check)
        # Serialised SKUs may also come one `serials-<sku>` box each (the form before the shelf box).
        scanned = {key[len("serials-"):]: text(value) for key, value in request.form.items()
                   if key.startswith("serials-")}
        result = counts.submit_count(db_session(), me(), store_id=store.id, counted=counted_quantities(request.form),
                                     serials=scanned, shelf=shelf, reason=text(request.form.get("reason")))
        if result.status == CountStatus.pending_approval:
            flash(_("Count %(number)s saved. A large difference needs a manager's approval before stock "
                    "changes.", number=result.id), "warning")
        else:
            flash(_("Count %(number)s applied to the stock.", number=result.id))
        return redirect(url_for(".count_detail", store_id=store.id, count_id=result.id))
    return _count_page(store)


def _detail_page(store, count_id: int, error=None, form=None):
    record, lines = counts.detail(db_session(), store_id=store.id, count_id=count_id)
    return render_template("count_detail.html", store=store, count=record, lines=lines, error=error,
                           may_decide=access.may_approve_counts(me(), store.id))


@bp.route("/count/<int:count_id>", methods=["GET", "POST"])
@store_page
@form_page(_detail_page)
def count_detail(store, count_id: int):
    if request.method == "POST":
        counts.decide_count(db_session(), me(), store_id=store.id, count_id=count_id,
                            approve=request.form.get("decision") == "approve")
        flash(_("Decision saved."))
        return redirect(url_for(".count_detail", store_id=store.id, count_id=count_id))
    return _detail_page(store, count_id)
