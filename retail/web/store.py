"""The store home and the store picker of planners and admins."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from retail.app import db_session
from retail.models import utcnow
from retail.services import access, storeview
from retail.web.access import me, store_page
from retail.web.charts import weekly_bars
from retail.web.forms import text

bp = Blueprint("store", __name__)


@bp.get("/stores")
@login_required
def pick():
    if not access.may_pick_any_store(me()):
        abort(403)
    query = text(request.args.get("q"))
    return render_template("pick.html", stores=storeview.find_stores(db_session(), query=query), q=query)


@bp.get("/stores/<int:store_id>")
@store_page
def home(store):
    session, now = db_session(), utcnow()
    lines = storeview.stock_lines(session, store_id=store.id, as_of=now)
    sku = text(request.args.get("sku")) or None
    weeks = storeview.weekly_sales(session, store_id=store.id, as_of=now, sku=sku)
    forecast = storeview.forecast(session, store_id=store.id, sku=sku, as_of=now) if sku else []
    title = _("Units sold per week") + (f" · {sku}" if sku else "")
    return render_template(
        "home.html", store=store, lines=lines, sku=sku, forecast=forecast,
        at_risk=[line for line in lines if line.at_risk], aging=[line for line in lines if line.aging],
        deliveries=storeview.open_deliveries(session, store_id=store.id),
        to_answer=storeview.transfers_to_answer(session, store_id=store.id),
        chart=weekly_bars(weeks, [(f.week, f.low, f.mean, f.high) for f in forecast], title=title),
        sold_recently=sum(units for _, units in weeks),
    )


@bp.get("/stores/<int:store_id>/products")
@store_page
def products(store):
    query = text(request.args.get("q"))
    found = storeview.search_products(db_session(), query=query)
    return render_template("products.html", store=store, q=query, products=found,
                           target=request.args.get("for", "sales.sale"))
