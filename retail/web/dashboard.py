"""The planners' dashboard (issue 16), under /network: the network, then a brand, a province, a store and a SKU,
forecast accuracy, and the action lists. Planners and admins only (403 for anyone else). Thin views: the
figures are `services.dashboard`'s; every table sorts by a column (`?sort=`) and downloads as CSV (`?csv=`), its
cells neutralised against spreadsheet formulas; every chart is inline SVG with its numbers in a table."""
from __future__ import annotations

import csv
import io
import math
from functools import wraps

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from markupsafe import Markup, escape

from retail import errors
from retail.messages import describe
from retail.request_db import db_session
from retail.services import dashboard
from retail.services.verbs import NETWORK, check_scope
from retail.web import i18n
from retail.web.access import me
from retail.web.charts import weekly_bars
from retail.web.statement_files import cell

bp = Blueprint("dashboard", __name__, url_prefix="/network")

KPI_LABELS = {
    "turnover": _l("Turnover (per year)"), "cover": _l("Weeks of cover"), "fill_rate": _l("Fill rate"),
    "stockout_weeks": _l("Stockout store x SKU weeks"), "aged_value": _l("Aged stock at cost (CNY)"),
    "sell_through": _l("Sell-through"),
}
# column key, label, format: "ratio" (2 decimals), "pct", "int", "money", "text"
KPI_COLUMNS = [("turnover", KPI_LABELS["turnover"], "ratio"), ("cover", KPI_LABELS["cover"], "ratio"),
               ("fill_rate", KPI_LABELS["fill_rate"], "pct"), ("stockout_weeks", KPI_LABELS["stockout_weeks"], "int"),
               ("aged_value", KPI_LABELS["aged_value"], "money"), ("sell_through", KPI_LABELS["sell_through"], "pct"),
               ("units_sold", _l("Units sold"), "int"), ("stock_value", _l("Stock at cost (CNY)"), "money")]
SEGMENT_LABELS = {"brand": _l("Brand"), "province": _l("Province"), "tier": _l("City tier"),
                  "partnership": _l("Partnership"), "store": _l("Store"), "sku": _l("SKU")}


def network_page(view):
    """A page of the whole network: planners and admins (403 for anyone else)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        check_scope(me(), NETWORK, None)
        return view(*args, **kwargs)

    return wrapper


def fmt(value, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "ratio":
        return "∞" if value == math.inf else f"{value:.2f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "province":
        return i18n.province(value)
    if kind == "city":  # (city, city_zh)
        return i18n.city(*value) if isinstance(value, tuple) else str(value)
    return str(value)


def _sort(rows: list[dict], columns: list[tuple], name: str) -> tuple[list[dict], str, bool]:
    """Rows sorted by `?sort=<table>.<column>` (`-` first for descending); unknown columns leave the order."""
    wanted = request.args.get("sort", "")
    table, _dot, column = wanted.partition(".")
    descending = column.startswith("-")
    column = column.lstrip("-")
    if table != name or column not in {c[0] for c in columns}:
        return rows, "", False

    def key(row):
        value = row.get(column)
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        return (missing, value if not missing else 0) if not isinstance(value, str) else (False, value)

    ordered = sorted(rows, key=key, reverse=descending)
    if descending:  # missing values last either way
        ordered = [r for r in ordered if key(r)[0] is False] + [r for r in ordered if key(r)[0] is True]
    return ordered, column, descending


def table(name: str, rows: list[dict], columns: list[tuple], link=None) -> dict:
    """A sortable, exportable table: columns are (key, label, format); `link(row)` the first column's URL."""
    rows, column, descending = _sort(rows, columns, name)
    return {"name": name, "rows": rows, "columns": columns, "sorted": column, "descending": descending,
            "link": link, "fmt": fmt}


def csv_response(t: dict, filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(label) for _key, label, _kind in t["columns"]])
    for row in t["rows"]:
        writer.writerow([cell(_plain(row.get(key))) for key, _label, _kind in t["columns"]])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={filename}-{t['name']}.csv"
    return response


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, tuple):  # a place (name, Chinese name): the stored name
        return value[0] or value[1] or ""
    if isinstance(value, float):
        return "inf" if value == math.inf else f"{value:.4f}".rstrip("0").rstrip(".")
    return value


def trend_charts(trend: list[dict]) -> list[tuple[str, Markup]]:
    """One bar chart per KPI over the weeks (inline SVG; each bar's title is its number)."""
    charts = []
    for key, label in KPI_LABELS.items():
        points = [(row["week"], round(row[key], 3) if isinstance(row[key], float) and math.isfinite(row[key]) else 0)
                  for row in trend]
        charts.append((str(label), weekly_bars(points, title=str(label), width=320, height=110)))
    return charts


def bar_list(rows: list[dict], key: str, label_key: str = "name", kind: str = "ratio",
             label_kind: str = "text") -> Markup:
    """Horizontal bars of one KPI by segment, with the numbers written next to the bars; the labels shown as
    `fmt(label, label_kind)` (a province in the reader's language)."""
    values = [(fmt(r.get(label_key, r.get("key")), label_kind), r.get(key)) for r in rows[:30]]
    finite = [v for _, v in values if isinstance(v, int | float) and math.isfinite(v)]
    if not finite:
        return Markup("")
    top = max(max(finite), 1e-9)
    height, width = 16 * len(values) + 4, 320
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(str(key))}">']
    for i, (name, value) in enumerate(values):
        v = value if isinstance(value, int | float) and math.isfinite(value) else 0
        w = 150 * v / top
        parts.append(f'<text x="0" y="{16 * i + 13}" class="label">{escape(name[:18])}</text>'
                     f'<rect x="110" y="{16 * i + 3}" width="{w:.1f}" height="12" class="bar">'
                     f'<title>{escape(name)}: {escape(fmt(value, kind))}</title></rect>'
                     f'<text x="{114 + w:.1f}" y="{16 * i + 13}" class="label">{escape(fmt(value, kind))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


TREND_COLUMNS = [("week", _l("Week"), "text"), *KPI_COLUMNS]


def _page(template: str, title: str, view: dashboard.View, tables: list[dict], filename: str, crumbs=(), **extra):
    trend = table("trend", view.trend, TREND_COLUMNS)
    wanted = request.args.get("csv")
    for t in [trend, *tables]:
        if wanted == t["name"]:
            return csv_response(t, filename)
    return render_template(template, title=title, view=view, totals=view.totals, kpis=KPI_COLUMNS,
                           charts=trend_charts(view.trend), trend=trend, tables=tables, crumbs=crumbs,
                           bar_list=bar_list, fmt=fmt, segment_labels=SEGMENT_LABELS, **extra)


@bp.get("/")
@network_page
def network():
    view = dashboard.network(db_session())
    tables = [
        table("brand", view.tables["brand"], [("name", _l("Brand"), "text"), *KPI_COLUMNS],
              link=lambda r: url_for("dashboard.brand", brand_id=r["key"])),
        table("province", view.tables["province"], [("name", _l("Province"), "province"), *KPI_COLUMNS]),
        table("tier", view.tables["tier"], [("name", _l("City tier"), "text"), *KPI_COLUMNS]),
        table("partnership", view.tables["partnership"], [("name", _l("Partnership"), "text"), *KPI_COLUMNS]),
    ]
    return _page("dashboard.html", _("Network"), view, tables, "network")


@bp.get("/brands/<int:brand_id>")
@network_page
def brand(brand_id: int):
    found, view = dashboard.brand(db_session(), brand_id=brand_id)
    tables = [table("province", view.tables["province"], [("name", _l("Province"), "province"), *KPI_COLUMNS],
                    link=lambda r: url_for("dashboard.province", brand_id=brand_id, province=r["key"]))]
    return _page("dashboard.html", found.name, view, tables, f"brand-{found.code}",
                 crumbs=[(_("Network"), url_for("dashboard.network"))])


@bp.get("/brands/<int:brand_id>/provinces/<province>")
@network_page
def province(brand_id: int, province: str):
    found, view = dashboard.brand_province(db_session(), brand_id=brand_id, province=province[:60])
    for row in view.tables["store"]:  # shown in the reader's language; the CSV keeps the stored name
        row["place"] = (row.get("city"), row.get("city_zh"))
    tables = [table("store", view.tables["store"], [("code", _l("Store"), "text"), ("name", _l("Name"), "text"),
                                                    ("place", _l("City"), "city"), *KPI_COLUMNS],
                    link=lambda r: url_for("dashboard.store", brand_id=brand_id, store_id=r["key"]))]
    return _page("dashboard.html", f"{found.name} · {i18n.province(province)}", view, tables, f"brand-{found.code}-province",
                 crumbs=[(_("Network"), url_for("dashboard.network")),
                         (found.name, url_for("dashboard.brand", brand_id=brand_id))])


SKU_COLUMNS = [("sku", _l("SKU"), "text"), ("on_hand", _l("On hand"), "int"), *KPI_COLUMNS[:6],
               ("units_sold", _l("Units sold"), "int")]


@bp.get("/brands/<int:brand_id>/stores/<int:store_id>")
@network_page
def store(brand_id: int, store_id: int):
    found, location, view = dashboard.brand_store(db_session(), brand_id=brand_id, store_id=store_id)
    tables = [table("sku", view.tables["sku"], SKU_COLUMNS,
                    link=lambda r: url_for("dashboard.sku", store_id=store_id, product_id=r["key"]))]
    return _page("dashboard.html", f"{found.name} · {location.code} {location.name}", view, tables,
                 f"{found.code}-{location.code}", store_link=url_for("store.home", store_id=store_id),
                 crumbs=[(_("Network"), url_for("dashboard.network")),
                         (found.name, url_for("dashboard.brand", brand_id=brand_id)),
                         (i18n.province(location.province) or location.city, url_for("dashboard.province", brand_id=brand_id,
                                                                      province=location.province or location.city))])


@bp.get("/stores/<int:store_id>/skus/<int:product_id>")
@network_page
def sku(store_id: int, product_id: int):
    view = dashboard.store_sku(db_session(), store_id=store_id, product_id=product_id)
    tables = [table("weeks", [{"week": w, "units": u} for w, u in view.weeks],
                    [("week", _l("Week"), "text"), ("units", _l("Units sold"), "int")]),
              table("ledger", [{"ts": ts.strftime("%Y-%m-%d %H:%M"), "kind": kind, "quantity": quantity,
                                "reference": reference or ""} for ts, kind, quantity, reference in view.movements],
                    [("ts", _l("When"), "text"), ("kind", _l("Kind"), "text"), ("quantity", _l("Units"), "int"),
                     ("reference", _l("Reference"), "text")])]
    wanted = request.args.get("csv")
    for t in tables:
        if wanted == t["name"]:
            return csv_response(t, f"{view.store.code}-{view.product.sku}")
    return render_template("dashboard_sku.html", view=view, tables=tables,
                           chart=weekly_bars(view.weeks, title=view.product.sku, width=640, height=160))


@bp.get("/accuracy")
@network_page
def accuracy():
    figures = dashboard.accuracy(db_session())
    columns = [("forecast", _l("Forecast units"), "ratio"), ("actual", _l("Units sold"), "int"),
               ("wape", _l("WAPE"), "pct"), ("bias", _l("Bias"), "pct")]
    tables = [table("week", figures["week"], [("key", _l("Week"), "text"), *columns]),
              table("brand", figures["brand"], [("name", _l("Brand"), "text"), *columns])]
    wanted = request.args.get("csv")
    for t in tables:
        if wanted == t["name"]:
            return csv_response(t, "accuracy")
    chart = weekly_bars([(r["key"], round(r["wape"] or 0, 3)) for r in figures["week"]], title="WAPE")
    return render_template("dashboard_accuracy.html", tables=tables, chart=chart, bar_list=bar_list,
                           brands=figures["brand"])


def _actions_page(error=None, status=200):
    lists = dashboard.actions(db_session())
    return render_template("dashboard_actions.html", lists=lists, error=error), status


@bp.get("/actions")
@network_page
def actions():
    return _actions_page()


DECIDE = {"orders": dashboard.decide_orders, "transfers": dashboard.decide_transfers,
          "purchases": dashboard.decide_purchases}
NAMES = {"orders": "order_ids", "transfers": "proposal_ids", "purchases": "proposal_ids"}


@bp.post("/actions/<any(orders, transfers, purchases):kind>")
@network_page
def decide(kind: str):
    decision = request.form.get("decision")
    ids = request.form.getlist("id")
    try:
        if decision not in ("approve", "reject"):
            raise errors.InvalidValue(field="decision", value=str(decision)[:20])
        parsed = [int(i) if i.isascii() and i.isdigit() and len(i) <= 10 else i for i in ids]
        done = DECIDE[kind](db_session(), me(), **{NAMES[kind]: parsed, "approve": decision == "approve"})
    except errors.Forbidden:
        raise
    except errors.DomainError as exc:
        return _actions_page(error=describe(exc), status=422)
    flash(_("%(count)s decided.", count=done))
    return redirect(url_for("dashboard.actions"))
