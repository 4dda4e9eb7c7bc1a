"""Stock work in the back room: receive deliveries, count the shelf, demo units, transfer requests
(ask another store; as the origin, ship or decline what another store asked for; cancel one's own)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail import errors
from retail.app import db_session
from retail.models import CountStatus, utcnow
from retail.services import access, inventory, shipments, storeops, storeview
from retail.web.access import me, store_page
from retail.web.forms import counted_quantities, integer, text
from retail.web.messages import describe

bp = Blueprint("stock", __name__, url_prefix="/stores/<int:store_id>")


def _refused(exc: errors.DomainError) -> str:
    db_session().rollback()
    return describe(exc)


@bp.get("/deliveries")
@store_page
def deliveries(store):
    return render_template("deliveries.html", store=store,
                           deliveries=storeview.open_deliveries(db_session(), store_id=store.id))


@bp.route("/deliveries/<int:shipment_id>", methods=["GET", "POST"])
@store_page
def receive(store, shipment_id: int):
    session = db_session()
    try:
        shipment, lines = storeview.open_delivery(session, store_id=store.id, shipment_id=shipment_id)
    except errors.NotFound:
        abort(404)
    error = None
    if request.method == "POST":
        try:
            received = {product.sku: integer(request.form.get(f"received-{product.sku}"), default=line.quantity)
                        for line, product in lines}
            shipment = shipments.receive(session, shipment_id=shipment.id, received=received, actor_id=me().id)
        except errors.DomainError as exc:
            error = _refused(exc)
        else:
            short = [(p.sku, line.quantity, received[p.sku]) for line, p in lines if received[p.sku] != line.quantity]
            flash(_("Delivery %(reference)s received.", reference=shipment.reference))
            for sku, shipped, got in short:
                flash(_("%(sku)s: %(shipped)s shipped, %(received)s received; the difference is recorded.",
                        sku=sku, shipped=shipped, received=got), "warning")
            return redirect(url_for(".deliveries", store_id=store.id))
    return render_template("receive.html", store=store, shipment=shipment, lines=lines, form=request.form,
                           error=error), 422 if error else 200


@bp.route("/count", methods=["GET", "POST"])
@store_page
def count(store):
    session = db_session()
    error = None
    if request.method == "POST":
        try:
            # Serialised SKUs: one `serials-<sku>` box each, the serials scanned on the shelf.
            scanned = {key[len("serials-"):]: text(value) for key, value in request.form.items()
                       if key.startswith("serials-")}
            result = storeops.submit_count(session, store_id=store.id, counted=counted_quantities(request.form),
                                           serials=scanned, reason=text(request.form.get("reason")),
                                           actor_id=me().id)
        except errors.DomainError as exc:
            error = _refused(exc)
        else:
            if result.status == CountStatus.pending_approval:
                flash(_("Count %(number)s saved. A large difference needs a manager's approval before stock "
                        "changes.", number=result.id), "warning")
            else:
                flash(_("Count %(number)s applied to the stock.", number=result.id))
            return redirect(url_for(".count_detail", store_id=store.id, count_id=result.id))
    lines = storeview.stock_lines(session, store_id=store.id, as_of=utcnow())
    return render_template("count.html", store=store, lines=lines, form=request.form, error=error,
                           counts=storeview.counts(session, store_id=store.id),
                           choices=storeview.product_choices(session, store_id=store.id)), 422 if error else 200


@bp.route("/count/<int:count_id>", methods=["GET", "POST"])
@store_page
def count_detail(store, count_id: int):
    session = db_session()
    error = None
    if request.method == "POST":
        try:
            storeops.decide_count(session, store_id=store.id, count_id=count_id,
                                  approve=request.form.get("decision") == "approve", actor_id=me().id)
        except errors.Forbidden:
            abort(403)
        except errors.NotFound:
            abort(404)
        except errors.DomainError as exc:
            error = _refused(exc)
        else:
            flash(_("Decision saved."))
            return redirect(url_for(".count_detail", store_id=store.id, count_id=count_id))
    try:
        record, lines = storeview.count_detail(session, store_id=store.id, count_id=count_id)
    except errors.NotFound:
        abort(404)
    return render_template("count_detail.html", store=store, count=record, lines=lines, error=error,
                           may_decide=access.may_approve_counts(me(), store.id)), 422 if error else 200


@bp.route("/demo", methods=["GET", "POST"])
@store_page
def demo(store):
    error = None
    if request.method == "POST":
        form = request.form
        serials = storeops.clean_serials(text(form.get("serials")))
        try:
            inventory.move_demo(db_session(), store_id=store.id, sku=text(form.get("sku")),
                                quantity=integer(form.get("quantity"), default=len(serials) or 1),
                                to_display=form.get("direction") != "in", serials=serials, actor_id=me().id)
        except errors.DomainError as exc:
            error = _refused(exc)
        else:
            flash(_("Demo units updated."))
            return redirect(url_for(".demo", store_id=store.id))
    session = db_session()
    lines = [line for line in storeview.stock_lines(session, store_id=store.id, as_of=utcnow()) if line.demo]
    return render_template("demo.html", store=store, form=request.form, error=error, lines=lines,
                           choices=storeview.product_choices(session, store_id=store.id)), 422 if error else 200


@bp.route("/transfers", methods=["GET", "POST"])
@store_page
def transfers(store):
    error = None
    session = db_session()
    if request.method == "POST":
        form = request.form
        try:
            storeops.request_transfer(session, to_store_id=store.id, from_store_code=text(form.get("from_store")),
                                      sku=text(form.get("sku")), quantity=integer(form.get("quantity"), default=1),
                                      note=text(form.get("note")), actor_id=me().id)
        except errors.DomainError as exc:
            error = _refused(exc)
        else:
            flash(_("Transfer requested."))
            return redirect(url_for(".transfers", store_id=store.id))
    sku = text(request.values.get("sku"))
    return render_template(
        "transfers.html", store=store, form=request.form if error else {"sku": sku}, error=error,
        holders=storeview.stores_with_stock(session, sku=sku, exclude_store_id=store.id) if sku else [],
        incoming=storeview.transfer_requests(session, store_id=store.id, incoming=True),
        outgoing=storeview.transfer_requests(session, store_id=store.id, incoming=False),
        choices=storeview.product_choices(session, store_id=store.id)), 422 if error else 200


def _transfer_page(store, transfer_id: int, *, error: str | None = None, form=None):
    try:
        detail = storeview.transfer_detail(db_session(), store_id=store.id, transfer_id=transfer_id)
    except errors.NotFound:
        abort(404)
    return render_template("transfer.html", store=store, t=detail, error=error,
                           form=form or {}), 422 if error else 200


@bp.get("/transfers/<int:transfer_id>")
@store_page
def transfer(store, transfer_id: int):
    return _transfer_page(store, transfer_id)


def _act_on_transfer(store, transfer_id: int, verb, done):
    """One decision on a request: the service decides (scope, state, stock); a refusal shows the page
    again with the message and what was typed, a request of another store is 404, the wrong side 403."""
    session = db_session()
    try:
        storeview.transfer_detail(session, store_id=store.id, transfer_id=transfer_id)
    except errors.NotFound:
        abort(404)
    try:
        result = verb(session)
    except errors.Forbidden:
        session.rollback()
        abort(403)
    except errors.DomainError as exc:
        return _transfer_page(store, transfer_id, error=_refused(exc), form=request.form)
    flash(done(result))
    return redirect(url_for(".transfer", store_id=store.id, transfer_id=transfer_id))


@bp.post("/transfers/<int:transfer_id>/ship")
@store_page
def ship_transfer(store, transfer_id: int):
    return _act_on_transfer(store, transfer_id, lambda session: storeops.ship_transfer(
        session, store_id=store.id, transfer_id=transfer_id, serials=text(request.form.get("serials")),
        actor_id=me().id), lambda t: _("Shipped as %(reference)s: the other store receives it under its deliveries.",
                                        reference=storeops.transfer_reference(t.id)))


@bp.post("/transfers/<int:transfer_id>/decline")
@store_page
def decline_transfer(store, transfer_id: int):
    return _act_on_transfer(store, transfer_id, lambda session: storeops.decline_transfer(
        session, store_id=store.id, transfer_id=transfer_id, reason=text(request.form.get("reason")),
        actor_id=me().id), lambda t: _("Transfer request %(number)s declined.", number=t.id))


@bp.post("/transfers/<int:transfer_id>/cancel")
@store_page
def cancel_transfer(store, transfer_id: int):
    return _act_on_transfer(store, transfer_id, lambda session: storeops.cancel_transfer(
        session, store_id=store.id, transfer_id=transfer_id, actor_id=me().id),
        lambda t: _("Transfer request %(number)s cancelled.", number=t.id))
