"""The planners' range page (issue 17), /network/ranging: the week's proposed range changes with their reasons in
the reader's language, filters (brand, province, city tier, store, decision, reason, status), and approve or reject
forms (CSRF, one-time keys) that call `services.ranging.decide_proposals`. Planners and admins only (403 for
anyone else). Thin: the reads and the rule are the service's, the sentences `retail/messages.py`'s."""
from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_currency, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from retail import errors
from retail.messages import describe, message
from retail.models import utcnow
from retail.request_db import db_session
from retail.services import ranging, replenishment
from retail.web.access import me
from retail.web.dashboard import network_page
from retail.web.security import safe_path

bp = Blueprint("ranging", __name__, url_prefix="/network/ranging")

DECISION_WORDS = {"stock": _l("Stocked (sellable units)"), "show": _l("Show only (demo unit, sold to order)"), "none": _l("Not carried")}
STATUS_WORDS = {"proposed": _l("Proposed"), "approved": _l("Approved"), "rejected": _l("Rejected"),
                "superseded": _l("Superseded")}
REASON_LABELS = {"fast_mover": _l("Sells well"), "sells_to_order": _l("Sells to order"),
                 "low_demand": _l("Low demand"), "end_of_life": _l("End of life"),
                 "launch_seeding": _l("New launch"), "brand_requirement": _l("Brand requirement"),
                 "display_capacity": _l("Display full")}


def _digits(name: str, longest: int) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and 0 < len(value) <= longest else None


def _filters() -> dict:
    """The query string as the service's filters: every value bounded, anything unreadable ignored."""
    week = None
    raw = request.args.get("week", "")
    if len(raw) == 10:
        try:
            week = date.fromisoformat(raw)
        except ValueError:
            week = None
    chosen = {"week": week, "brand_id": _digits("brand_id", 10), "tier": _digits("tier", 1),
              "province": request.args.get("province", "")[:60] or None,
              "store": request.args.get("store", "").strip()[:16] or None,
              "decision": request.args.get("decision") if request.args.get("decision") in ranging.DECISIONS else None,
              "reason": request.args.get("reason") if request.args.get("reason") in ranging.REASONS else None,
              "status": request.args.get("status") if request.args.get("status") in ranging.STATUSES else "proposed"}
    if chosen["brand_id"] is not None and chosen["brand_id"] > 2**31 - 1:
        chosen["brand_id"] = None
    return chosen


def reason_sentence(row: dict) -> str:
    """Why the change is proposed, with its figures, in the reader's language."""
    def money(value):
        return format_currency(value, row["currency"])

    return message(f"range_{row['reason']}", {"weekly": format_decimal(row["weekly_demand"], "#,##0.###"),
                                              "stock": money(row["value_stock"]), "show": money(row["value_show"])})


KIND_WORDS = {"display": _l("On display"), "return": _l("Back to the warehouse"), "markdown": _l("Demo unit markdown")}


def line_sentence(row: dict) -> str:
    """What a range line of the plan asks the store to do, in the reader's language."""
    detail = row["detail"]
    params = {"units": row["quantity"]}
    if row["kind"] == "markdown" and detail.get("currency"):
        params.update(price=format_currency(detail.get("price", 0), detail["currency"]),
                      list_price=format_currency(detail.get("list_price", 0), detail["currency"]))
    return message(f"range_line_{row['kind']}", params)


def _page(error=None, status=200):
    chosen = _filters()
    offset = _digits("offset", 7) or 0
    view = ranging.proposals(db_session(), offset=offset, **chosen)
    run = replenishment.latest_run_config(db_session())
    plan_lines = replenishment.latest_range_lines(db_session(), store=chosen["store"])
    query = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in chosen.items() if v not in (None, "")}
    if view.week is not None:
        query["week"] = view.week.isoformat()
    here = url_for("ranging.page", **query)
    more = url_for("ranging.page", **query, offset=offset + ranging.PAGE) \
        if offset + ranging.PAGE < view.total else None
    return render_template("ranging.html", view=view, chosen=chosen, error=error, here=here, more=more,
                           shown_at=utcnow().isoformat(),
                           offset=offset, decisions=DECISION_WORDS, statuses=STATUS_WORDS, reasons=REASON_LABELS,
                           sentence=reason_sentence, plan=run, page_size=ranging.PAGE, plan_lines=plan_lines,
                           kinds=KIND_WORDS, line_sentence=line_sentence,
                           in_force=ranging.range_counts(db_session(), day=view.week) if view.week else {}), status


@bp.get("/")
@network_page
def page():
    return _page()


def _shown_at(value: str | None) -> datetime | None:
    """When the page the planner answers from was read (a hidden field, UTC ISO 8601); None without it."""
    if not value:
        return None
    try:
        shown = datetime.fromisoformat(value[:40])
    except ValueError:
        raise errors.InvalidValue(field="shown_at", value=value[:40]) from None
    return shown if shown.tzinfo else shown.replace(tzinfo=UTC)


@bp.post("/decide")
@network_page
def decide():
    decision = request.form.get("decision")
    ids = request.form.getlist("id")
    back = safe_path(request.form.get("back")) or url_for("ranging.page")
    try:
        if decision not in ("approve", "reject"):
            raise errors.InvalidValue(field="decision", value=str(decision)[:20])
        if len(ids) > ranging.MAX_BULK:
            raise errors.TooMany(limit=ranging.MAX_BULK, field="proposals")
        parsed = [int(i) if i.isascii() and i.isdigit() and len(i) <= 10 else i for i in ids]
        done = ranging.decide_proposals(db_session(), me(), proposal_ids=parsed, approve=decision == "approve",
                                        shown_at=_shown_at(request.form.get("shown_at")))
    except errors.Forbidden:
        raise
    except errors.DomainError as exc:
        return _page(error=describe(exc), status=422)
    if done.decided:
        flash(_("%(count)s approved.", count=done.decided) if decision == "approve"
              else _("%(count)s rejected.", count=done.decided))
    if done.already:
        flash(_("%(count)s had already been decided: left as they were.", count=done.already), "warning")
    if done.revised:
        flash(_("%(count)s were revised after this page was shown: look at them again.", count=done.revised),
              "warning")
    return redirect(back, code=303)

