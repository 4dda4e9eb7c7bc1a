"""Agreements and settlement statements (issue 15): the store's pages (its agreement, balance, priced orders and
statements with PDF and CSV downloads: scoped to the store, another store's statement is 404) and the planners'
page (open balances, credit holds with their approval, consignment stock value by store, per-brand consignment
for a month), with the planners' and admins' forms for a new agreement version and a payment."""
from __future__ import annotations

import csv
import io
from datetime import date
from functools import wraps
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from retail import errors, parsing
from retail.messages import message
from retail.models import utcnow
from retail.request_db import db_session
from retail.services import access, agreements, brands, prices, replenishment, settlement, stores
from retail.services.verbs import NETWORK, check_scope
from retail.web import statement_files
from retail.web.access import me, store_page
from retail.web.errors import form_page
from retail.web.forms import note, text, whole

bp = Blueprint("settlement", __name__)

TOTALS = {
    "opening_balance": _l("Opening balance"), "invoiced": _l("Invoiced"), "paid": _l("Paid"),
    "closing_balance": _l("Closing balance"), "units_sold": _l("Units sold"), "units_returned": _l("Units returned"),
    "sales": _l("Sales"), "returns": _l("Returns"), "net_sales": _l("Net sales"), "store_share": _l("Store's share"),
    "platform_share": _l("Platform's share"), "shrinkage_units": _l("Units missing at counts"),
    "shrinkage": _l("Shrinkage charged"), "due_to_platform": _l("Due to the platform"),
}
KINDS = {"invoice": _l("Invoice"), "payment": _l("Payment"), "sale": _l("Sale"), "return": _l("Return"),
         "shrinkage": _l("Shrinkage")}
MODELS = {"franchise": _l("Franchise"), "consignment": _l("Consignment")}
STATUSES = {"active": _l("Active"), "suspended": _l("Suspended"), "terminated": _l("Terminated")}


def labels() -> dict[str, str]:
    """Every label of a statement document, in the reader's language (the PDF and the CSV)."""
    words = {f"total.{k}": str(v) for k, v in TOTALS.items()}
    words.update({f"kind.{k}": str(v) for k, v in KINDS.items()})
    words.update({f"model.{k}": str(v) for k, v in MODELS.items()})
    words.update({
        "title": _("Settlement statement"), "adjusting": _("Adjusting statement"), "store": _("Store"),
        "month": _("Month"), "sequence": _("Sequence"), "reported_in": _("Reported in"), "currency": _("Currency"),
        "versions": _("Agreement versions"), "issued": _("Issued"), "kind": _("Kind"), "item": _("SKU or number"),
        "day": _("Day"), "due_on": _("Due on"), "unit_price": _("Unit price"), "rate": _("Rate"), "units": _("Units"), "amount": _("Amount"),
        "store_share": _("Store's share"), "platform_share": _("Platform's share"), "totals": _("Totals"),
        "model": _("Model"), "number": _("Number"),
    })
    return words


def hold_text(reason: dict) -> str:
    """A hold reason kept at pricing (a code and its figures), as a sentence in the reader's language."""
    params = dict(reason)
    if reason.get("code") == "hold_agreement_status":
        params["status"] = str(STATUSES.get(reason.get("status"), reason.get("status")))
    return message(reason.get("code", "domain_error"), params)


def network_page(view):
    """A page of the whole network: planners and admins (403 for anyone else)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        check_scope(me(), NETWORK, None)
        return view(*args, **kwargs)

    return wrapper


def _today(store) -> date:
    return utcnow().astimezone(ZoneInfo(store.timezone)).date()


@bp.app_context_processor
def _helpers():
    return {"hold_text": hold_text, "settlement_totals": TOTALS, "settlement_kinds": KINDS,
            "agreement_models": MODELS, "agreement_statuses": STATUSES}


# ---------------------------------------------------------------- the store's pages

@bp.get("/stores/<int:store_id>/settlement")
@store_page
def store_settlement(store):
    session = db_session()
    today = _today(store)
    agreement = agreements.in_force(session, store_id=store.id, day=today)
    return render_template(
        "settlement_store.html", store=store, agreement=agreement,
        history=agreements.history(session, store_id=store.id),
        statements=settlement.statements_of(session, store_id=store.id),
        orders=settlement.store_orders(session, store_id=store.id),
        balance=settlement.store_balance(session, store_id=store.id),
        brand_codes={b.id: b.code for b in brands.find_brands(session, limit=1000)},
        may_manage=access.may_pick_any_store(me()))


@bp.get("/stores/<int:store_id>/settlement/statements/<int:statement_id>")
@store_page
def statement(store, statement_id: int):
    session = db_session()
    found = settlement.statement_of(session, store_id=store.id, statement_id=statement_id)
    return render_template("settlement_statement.html", store=store, st=found,
                           reported=settlement.reported_with(session, statement=found) if found.sequence == 1 else [])


@bp.get("/stores/<int:store_id>/settlement/statements/<int:statement_id>/csv")
@store_page
def statement_csv(store, statement_id: int):
    found = settlement.statement_of(db_session(), store_id=store.id, statement_id=statement_id)
    response = Response(statement_files.statement_csv(found, store, labels()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={found.number}.csv"
    return response


@bp.get("/stores/<int:store_id>/settlement/statements/<int:statement_id>/pdf")
@store_page
def statement_pdf(store, statement_id: int):
    found = settlement.statement_of(db_session(), store_id=store.id, statement_id=statement_id)
    language = getattr(me(), "language", "zh_Hans")
    response = Response(statement_files.statement_pdf(found, store, labels(), language=language),
                        mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename={found.number}.pdf"
    return response


# ---------------------------------------------------------------- the planners' page

def _month_arg(session) -> date | None:
    value = text(request.args.get("month"), max_length=7)
    if value:
        return settlement.parse_month(value)
    issued = settlement.months_issued(session, limit=1)
    return issued[0] if issued else None


def _network_page(error=None, form=None, month: date | None = None):
    session = db_session()
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    month = month or _month_arg(session)
    stock, stock_total = settlement.consignment_stock_value(session, today=today)
    return render_template(
        "settlement_network.html", error=error, month=month, months=settlement.months_issued(session),
        balances=settlement.open_balances(session, today=today), holds=settlement.credit_holds(session),
        stock=stock, stock_total=stock_total,
        brands=settlement.brand_consignment(session, month=month) if month else [])


@bp.get("/settlement")
@network_page
def network():
    return _network_page()


@bp.get("/settlement/brands/csv")
@network_page
def brands_csv():
    session = db_session()
    month = _month_arg(session)
    rows = settlement.brand_consignment(session, month=month) if month else []
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["month", "brand", "name", "currency", "units_sold", "units_returned", "net_sales", "store_share",
                     "platform_share"])
    for r in rows:
        writer.writerow([statement_files.cell(v) for v in (
            f"{month:%Y-%m}", r.code, r.name, r.currency, r.units_sold, r.units_returned, f"{r.net_sales:.2f}",
            f"{r.store_share:.2f}", f"{r.platform_share:.2f}")])
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename=consignment-brands-{month or 'none'}.csv"
    return response


def _approve_page(order_id: int, error=None, form=None):
    return _network_page(error=error, form=form)


@bp.post("/settlement/orders/<int:order_id>/approve")
@network_page
@form_page(_approve_page)
def approve(order_id: int):
    order = replenishment.approve(db_session(), me(), order_id=order_id,
                                  acknowledge_credit_hold=request.form.get("acknowledge") == "1")
    flash(_("Order %(reference)s approved.", reference=order.reference))
    return redirect(url_for(".network"))


# ---------------------------------------------------------------- planners' and admins' forms

def _agreement_form(store_id: int, error=None, form=None):
    session = db_session()
    store = stores.get_store(session, store_id=store_id)
    current = agreements.in_force(session, store_id=store_id, day=_today(store))
    history = agreements.history(session, store_id=store_id)
    latest = history[0] if history else None  # the form starts from the latest terms (perhaps not yet in force)
    if form is None:
        form = {"model": store.partnership or "franchise", "status": "active", "wholesale_tier": "B",
                "revenue_share": "0.20", "shrinkage_rate": "1", "payment_terms_days": "30", "deposit": "0"}
        if latest is not None:
            form = {"model": latest.model, "status": latest.status, "wholesale_tier": latest.wholesale_tier or "B",
                    "revenue_share": str(latest.revenue_share or "0.20"), "shrinkage_rate": str(latest.shrinkage_rate),
                    "payment_terms_days": str(latest.payment_terms_days), "deposit": str(latest.deposit),
                    "credit_limit": str(latest.credit_limit or ""), "valid_from": "",
                    "ends_on": str(latest.ends_on or ""),
                    "authorised_brands": "" if latest.authorised_brands is None else _codes_of(
                        latest.authorised_brands, session),
                    "brand_terms": ", ".join(f"{_codes_of([int(k)], session)}={next(iter(v.values()))}"
                                             for k, v in (latest.brand_terms or {}).items())}
    return render_template("settlement_agreement_form.html", store=store, current=current, form=form, error=error,
                           history=history, tiers=list(agreements.TIER_DISCOUNTS))


def _day(value, field: str) -> date:
    found = text(value, field=field, max_length=10)
    if not found:
        raise errors.MissingValue(field=field)
    try:
        return date.fromisoformat(found)
    except ValueError:
        raise errors.InvalidDate(field=field, value=found) from None


def _brand_codes() -> dict[str, int]:
    return {b.code.upper(): b.id for b in brands.find_brands(db_session(), limit=1000)}


def _brand_ids(value) -> list[int] | None:
    """Authorised brands as typed: brand codes separated by commas or spaces; empty: every brand."""
    typed = text(value, field="authorised brands", max_length=400).upper().replace(",", " ").split()
    if not typed:
        return None
    known = _brand_codes()
    unknown = [code for code in typed if code not in known]
    if unknown:
        raise errors.AgreementInvalid(reason=f"brand {unknown[0][:16]} is unknown")
    return sorted({known[code] for code in typed})


def _brand_terms(value, model: str) -> dict | None:
    """Terms by brand as typed: CODE=tier (franchise) or CODE=share (consignment), separated by commas."""
    typed = [part.strip() for part in text(value, field="brand terms", max_length=400).split(",") if part.strip()]
    if not typed:
        return None
    known, terms = _brand_codes(), {}
    for part in typed:
        code, _sep, term = part.partition("=")
        code = code.strip().upper()
        if code not in known or not term.strip():
            raise errors.AgreementInvalid(reason=f"{part[:40]} is not CODE=term with a known brand")
        key = "tier" if model == "franchise" else "revenue_share"
        terms[str(known[code])] = {key: term.strip().upper() if key == "tier" else term.strip()}
    return terms


def _codes_of(ids, session) -> str:
    by_id = {b.id: b.code for b in brands.find_brands(session, limit=1000)}
    return ", ".join(by_id.get(i, str(i)) for i in ids)


@bp.route("/settlement/stores/<int:store_id>/agreement", methods=["GET", "POST"])
@network_page
@form_page(_agreement_form)
def agreement_form(store_id: int):
    if request.method == "POST":
        form = request.form
        made = agreements.create_version(
            db_session(), me(), store_id=store_id, valid_from=_day(form.get("valid_from"), "valid from"),
            model=text(form.get("model"), max_length=12), status=text(form.get("status"), max_length=12),
            wholesale_tier=text(form.get("wholesale_tier"), max_length=8) or None,
            revenue_share=text(form.get("revenue_share"), max_length=12) or None,
            shrinkage_rate=text(form.get("shrinkage_rate"), max_length=12) or None,
            deposit=text(form.get("deposit"), max_length=20) or None,
            credit_limit=text(form.get("credit_limit"), max_length=20) or None,
            payment_terms_days=whole(form.get("payment_terms_days"), field="payment terms", default=30,
                                     maximum=365),
            ends_on=_day(form.get("ends_on"), "ends on") if text(form.get("ends_on"), max_length=10) else None,
            authorised_brands=_brand_ids(form.get("authorised_brands")),
            brand_terms=_brand_terms(form.get("brand_terms"), text(form.get("model"), max_length=12)),
            note=note(form.get("note")))
        flash(_("Agreement version %(version)s saved.", version=made.version))
        return redirect(url_for(".store_settlement", store_id=store_id))
    return _agreement_form(store_id)


def _payment_form(store_id: int, error=None, form=None):
    session = db_session()
    store = stores.get_store(session, store_id=store_id)
    return render_template("settlement_payment_form.html", store=store, form=form or {"received_on": _today(store)},
                           error=error, balance=settlement.store_balance(session, store_id=store_id))


@bp.route("/settlement/stores/<int:store_id>/payments", methods=["GET", "POST"])
@network_page
@form_page(_payment_form)
def payment_form(store_id: int):
    if request.method == "POST":
        form = request.form
        payment = settlement.record_payment(
            db_session(), me(), store_id=store_id, amount=parsing.money(form.get("amount"), field="amount",
                                                                         required=True),
            received_on=_day(form.get("received_on"), "date"),
            reference=parsing.reference(form.get("reference"), field="reference", max_length=64, required=True),
            note=note(form.get("note")))
        flash(_("Payment %(reference)s recorded.", reference=payment.reference))
        return redirect(url_for(".store_settlement", store_id=store_id))
    return _payment_form(store_id)


def _prices_page(error=None, form=None):
    return render_template("settlement_prices.html", error=error, form=form or {"currency": "CNY", "price_list": "A"},
                           entries=prices.recent_entries(db_session()), lists=prices.PRICE_LISTS,
                           currencies=prices.CURRENCIES)


@bp.route("/settlement/prices", methods=["GET", "POST"])
@network_page
@form_page(_prices_page)
def price_list():
    """Planners and admins add list, wholesale (per tier) and promotional prices; entries are never changed."""
    if request.method == "POST":
        form = request.form
        valid_to = text(form.get("valid_to"), max_length=10)
        entry = prices.add_price(
            db_session(), me(), sku=parsing.sku(form.get("sku")), price_list=text(form.get("price_list"), max_length=8),
            currency=text(form.get("currency"), max_length=3),
            amount=parsing.money(form.get("amount"), field="price", required=True),
            valid_from=_day(form.get("valid_from"), "valid from"),
            valid_to=_day(valid_to, "valid to") if valid_to else None, promotion=form.get("promotion") == "1")
        flash(_("Price of %(sku)s saved.", sku=form.get("sku")))
        return redirect(url_for(".price_list", added=entry.id))
    return _prices_page()
