"""Demo units: put stock on display, or take it back on sale."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail.models import utcnow
from retail.request_db import db_session
from retail.services import demo_units, products, stock
from retail.web.access import me, store_page
from retail.web.errors import form_page
from retail.web.forms import integer, text

bp = Blueprint("demo_units", __name__, url_prefix="/stores/<int:store_id>")


def _demo_page(store, error=None, form=None):
    session = db_session()
    lines = [line for line in stock.stock_lines(session, store_id=store.id, as_of=utcnow()) if line.demo]
    return render_template("demo.html", store=store, form=form or {}, error=error, lines=lines,
                           choices=products.choices(session, store_id=store.id))


@bp.route("/demo", methods=["GET", "POST"])
@store_page
@form_page(_demo_page)
def demo(store):
    if request.method == "POST":
        form = request.form
        demo_units.move(db_session(), me(), store_id=store.id, sku=text(form.get("sku")),
                        quantity=integer(form.get("quantity")), to_display=form.get("direction") != "in",
                        serials=text(form.get("serials")))
        flash(_("Demo units updated."))
        return redirect(url_for(".demo", store_id=store.id))
    return _demo_page(store)
