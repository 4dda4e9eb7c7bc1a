"""The store home and the store picker of planners and admins."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from retail.models import utcnow
from retail.request_db import db_session
from retail.services import forecasts, sales, stores, today
from retail.services import products as catalogue
from retail.services.verbs import NETWORK, check_scope
from retail.web.access import me, store_page
from retail.web.charts import weekly_bars
from retail.web.forms import text

bp = Blueprint("store", __name__)


@bp.get("/stores")
@login_required
def pick():
    check_scope(me(), NETWORK, None)
    query = text(request.args.get("q"))
    return render_template("pick.html", stores=stores.find(db_session(), query=query), q=query)


@bp.get("/stores/<int:store_id>")
@store_page
def home(store):
    session, now = db_session(), utcnow()
    work = today.today(session, me(), store_id=store.id, as_of=now)
    lines = work.lines
    sku = text(request.args.get("sku")) or None
    weeks = sales.weekly_units(session, store_id=store.id, as_of=now, sku=sku)
    forecast = forecasts.store_forecast(session, store_id=store.id, sku=sku, as_of=now) if sku else []
    title = _("Units sold per week") + (f" · {sku}" if sku else "")
    return render_template(
        "home.html", store=store, lines=lines, sku=sku, forecast=forecast, work=work,
        at_risk=[line for line in lines if line.at_risk],
        selling=[line for line in lines if line.selling and not line.at_risk],
        aging=[line for line in lines if line.aging],
        chart=weekly_bars(weeks, [(f.week, f.low, f.mean, f.high) for f in forecast], title=title),
        sold_recently=sum(units for _, units in weeks),
    )


@bp.get("/stores/<int:store_id>/products")
@store_page
def products(store):
    query = text(request.args.get("q"))
    found = catalogue.search(db_session(), query=query)
    return render_template("products.html", store=store, q=query, products=found,
                           brands=catalogue.brand_names(db_session(), brand_ids={p.brand_id for p in found}),
                           target=request.args.get("for", "sales.sale"))
