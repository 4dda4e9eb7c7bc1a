"""At the till: a customer's return, linked to its sale."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail.request_db import db_session
from retail.services import returns, sales
from retail.web.access import me, store_page
from retail.web.errors import form_page
from retail.web.forms import integer, text

bp = Blueprint("returns", __name__, url_prefix="/stores/<int:store_id>")


def _return_page(store, error=None, form=None):
    return render_template("return.html", store=store, form=form or {"sale": request.args.get("sale", "")},
                           error=error, recent=sales.recent(db_session(), store_id=store.id, limit=10))


@bp.route("/return", methods=["GET", "POST"])
@store_page
@form_page(_return_page)
def return_(store):
    if request.method == "POST":
        form = request.form
        movements = returns.record_return(db_session(), me(), store_id=store.id, serials=text(form.get("serials")),
                                          sale_id=integer(form.get("sale")), quantity=integer(form.get("quantity")))
        flash(_("Return recorded: %(units)s unit(s) back in stock.", units=sum(m.quantity for m in movements)))
        return redirect(url_for(".return_", store_id=store.id))
    return _return_page(store)
