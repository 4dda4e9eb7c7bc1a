"""The one table from a refusal's code to the sentence a person reads, in their language (the web pages, the
partner API and the emails all read it here).

Domain errors (retail/errors.py) and POS import row errors carry a stable `code` and `params`;
views never write their own wording for a business rule.
"""
from __future__ import annotations

from flask_babel import gettext


def N_(message: str) -> str:  # noqa: N802 - marks a message for extraction, translated on use
    return message


MESSAGES = {
    "domain_error": N_("The request was refused."),
    "not_found": N_("%(what)s %(key)s does not exist."),
    "unknown_product": N_("No product has the SKU or barcode %(sku)s."),
    "unknown_location": N_("No store has the code %(location)s."),
    "location_inactive": N_("Store %(location)s is %(status)s: it cannot move stock."),
    "invalid_quantity": N_("Enter a whole number of at least 1 (not %(quantity)s)."),
    "insufficient_stock": N_("Only %(available)s of %(sku)s in stock at %(location)s; %(requested)s requested."),
    "serials_required": N_("%(sku)s has serial numbers: scan %(quantity)s serial number(s), got %(given)s."),
    "serial_not_here": N_("Serial number %(serial)s is not a unit of this store for this: check the number."),
    "duplicate_serial": N_("Serial number %(serial)s already exists."),
    "shipment_closed": N_("Delivery %(reference)s has already been received."),
    "forbidden": N_("You may not do this."),
    "missing_value": N_("Please fill in: %(field)s."),
    "invalid_value": N_("%(value)s is not a valid %(field)s."),
    "counted_serials_not_here": N_("Not in this store's stock of %(sku)s (sold, on display, at another location or "
                                   "unknown): %(serials)s. Take them out of the count and ask your manager."),
    "return_exceeds_sale": N_("Sale %(sale)s sold %(sold)s unit(s), %(returned)s already returned: "
                              "%(requested)s cannot be returned."),
    "count_closed": N_("This stock count has already been decided."),
    "shelf_serials_not_here": N_("%(count)s scanned serial number(s) do not belong to this store's stock (sold, on "
                                 "display, on their way, at another store or unknown): %(serials)s. Take them off "
                                 "the shelf, delete them from the box and ask your manager."),
    "transfer_to_same_store": N_("Choose another store than your own."),
    "transfer_closed": N_("Transfer request %(transfer)s can no longer be changed: it is %(status)s. Nothing was "
                          "changed."),
    "wrong_password": N_("The current password is not correct."),
    "weak_password": N_("A password needs at least %(min_length)s characters."),
    "already_exists": N_("%(what)s %(key)s already exists."),
    "order_state_conflict": N_("Order %(reference)s is %(status)s: it cannot be changed now."),
    "proposal_decided": N_("Proposal %(proposal)s was already %(decision)s."),
    # POS import rows (retail/services/pos_import.py RowError codes)
    "missing_column": N_("Column %(column)s is missing."),
    "bad_date": N_("The date %(value)s cannot be read."),
    "bad_quantity": N_("The quantity %(value)s is not a whole number of at least 1."),
    "bad_kind": N_("The type %(value)s is neither a sale nor a return."),
    "too_many_rows": N_("A file may have at most %(max)s rows: split it."),
    "bad_price": N_("The price %(value)s cannot be read."),
    "empty_file": N_("The file has no rows."),
    "unreadable_file": N_("The file cannot be read: save it as CSV (UTF-8 or GBK) or XLSX."),
    "duplicate_row": N_("This row repeats row %(first)s."),
    "pos_file_too_slow": N_("The file takes too long to check in one go here (%(done)s of %(rows)s rows): split it "
                            "into files of about %(split)s rows and upload them one by one. Nothing was imported."),
    "invalid_pos_file": N_("The file has %(count)s invalid row(s): nothing was imported. Correct them and "
                           "upload the file again."),
    # Bounded input (retail/parsing.py) and bounded POS files
    "too_many": N_("Too many at once: at most %(limit)s at a time."),
    "too_long": N_("Too long: at most %(max_length)s characters."),
    "serial_too_long": N_("Serial number %(serial)s is too long: at most %(max_length)s characters."),
    "invalid_money": N_("%(value)s is not an amount: at most 10 digits and 2 decimals, not negative."),
    "invalid_date": N_("%(value)s is not a date between the years 2000 and 2100 (for example 2026-11-20 14:05)."),
    "too_many_columns": N_("A file may have at most %(max)s columns."),
    "file_too_large": N_("The file is too large: at most %(max)s MB unpacked. Split it."),
    # Receiving a delivery (services/deliveries.receive, decide_surplus)
    "not_on_shipment": N_("%(sku)s is not on delivery %(reference)s."),
    "serial_not_shipped": N_("Serial number %(serial)s was not shipped as %(sku)s on this delivery: set the unit "
                             "aside and tell your manager. Nothing was received."),
    "scan_arrived_serials": N_("%(sku)s has serial numbers: scan the serial number of each unit that arrived "
                               "(%(counted)s counted, %(scanned)s scanned). Enter 0 if none arrived."),
    "surplus_decided": N_("No surplus of %(sku)s on delivery %(reference)s waits for a decision."),
    # One-time keys of the forms that write (web/idempotency.py)
    "already_recorded": N_("Already recorded: this form had been sent before, and it was recorded once."),
    "request_key_reused": N_("This form was already sent with other values: nothing was changed. Check the page "
                             "and fill in the form again."),
    # Sale prices (services/sales.py PRICE_FLOOR, PRICE_CEILING) and staged POS files (services/pos_import.py)
    "price_out_of_band": N_("%(sku)s at %(price)s %(currency)s is refused: the list price is %(list_price)s "
                           "%(currency)s, and a sale may be between %(minimum)s and %(maximum)s %(currency)s."),
    "pos_file_not_staged": N_("The previewed file is no longer waiting for confirmation (it is kept %(hours)s "
                              "hours): upload it again."),
}

# The columns of a POS file, as a store says them (the row errors name their column).
POS_COLUMNS = {
    "date": N_("date and time"),
    "sku": N_("SKU or barcode"),
    "quantity": N_("quantity"),
    "serials": N_("serial numbers"),
    "unit_price": N_("unit price"),
    "type": N_("sale or return"),
    "kind": N_("sale or return"),
    "time": N_("time"),
    "receipt": N_("receipt number"),
}


# The sentence of each reason code of a suggested order line (`services/replenishment.line_reasons`): the store
# pages and the partner API word a line with this one table.
LINE_REASONS = {
    "end_of_life": N_("The model is at the end of its life: it is not reordered."),
    "expected_sales": N_("Expected to sell about %(units)s in the next %(weeks)s weeks (delivery time and the week "
                         "until the next order)."),
    "service_level": N_("To have enough in %(percent)s weeks out of 100, the shelf needs %(units)s."),
    "one_on_shelf": N_("We keep one on the shelf so that a customer can take it home: about %(units)s sales are "
                       "expected while it waits."),
    "expected_on_shelf": N_("Expected to sell about %(units)s while a unit waits on the shelf."),
    "held_when_likely": N_("A unit is kept when its chance of selling is at least %(chance)s%%, weighed against "
                           "what it costs to hold: %(units)s on the shelf."),
    "display_minimum": N_("The brand asks for at least %(units)s on display."),
    "position": N_("You have %(on_hand)s on hand and %(coming)s on the way; to reach %(target)s, %(need)s more "
                   "are needed."),
    "packs": N_("It comes in packs of %(pack)s: %(units)s."),
    "shelf_full": N_("%(units)s fewer: the shelf is full."),
    "suggest": N_("Suggested: %(units)s."),
    "demo_unit": N_("A demo unit: the store shows this model and sells it to order (its range is show only)."),
}

def column_name(column: str | None) -> str | None:
    """A POS file's column in the reader's words; a column without a name here is shown as it is."""
    if not column:
        return column
    return gettext(POS_COLUMNS[column]) if column in POS_COLUMNS else column


# Field names, as the forms label them.
FIELDS = {
    "sku": N_("SKU or barcode"),
    "serials": N_("serial numbers or sale number"),
    "reason": N_("reason"),
    "counted": N_("at least one counted quantity"),
    "from_store": N_("the other store"),
    "name": N_("name"),
    "store": N_("store"),
    "brand": N_("brand"),
    "email": N_("email"),
    "role": N_("role"),
    "language": N_("language"),
    "code": N_("code"),
    "city": N_("city"),
    "market": N_("market"),
    "partnership": N_("partnership"),
    "status": N_("status"),
    "city_tier": N_("city tier"),
    "lead_time_days": N_("lead time in days"),
    "moq": N_("minimum order quantity"),
    "file": N_("the file to import"),
    "receipt": N_("receipt number"),
    "note": N_("note"),
    "decision": N_("decision"),
    "Order": N_("Order"),
    "Suggested order": N_("Suggested order"),
    "Shipment": N_("Delivery"),
    "Sale": N_("Sale"),
    "Stock count": N_("Stock count"),
    "Transfer request": N_("Transfer request"),
    "User": N_("User"),
    "Store": N_("Store"),
    "Brand": N_("Brand"),
    "Product": N_("Product"),
    "Purchase order": N_("Purchase order"),
    "Shipment notice": N_("Shipment notice"),
    "API key": N_("API key"),
}


# The states of a transfer request, as the transfer pages name them (`transfer_closed`'s status).
TRANSFER_STATUSES = {
    "requested": N_("requested"),
    "shipped": N_("shipped"),
    "declined": N_("declined"),
    "cancelled": N_("cancelled"),
}


class _Params(dict):
    def __missing__(self, key):
        return "?"


def message(code: str, params: dict | None = None) -> str:
    params = _Params(params or {})
    for key in ("field", "what"):
        if key in params and params[key] in FIELDS:
            params[key] = gettext(FIELDS[params[key]])
    column = params.get("column")
    if column in POS_COLUMNS:
        params["column"] = column_name(column)
    if code == "transfer_closed" and params.get("status") in TRANSFER_STATUSES:
        params["status"] = gettext(TRANSFER_STATUSES[params["status"]])
    template = MESSAGES.get(code, MESSAGES["domain_error"])
    return gettext(template) % params


def describe(error) -> str:
    """A domain error or an import row error, as a sentence in the reader's language."""
    return message(getattr(error, "code", "domain_error"), getattr(error, "params", None))


# Stock counts (issue 10): a SKU waiting for a manager is not counted again before the decision.
MESSAGES["count_pending"] = N_("Count %(count)s of %(sku)s is waiting for a manager's decision: %(sku)s cannot be "
                               "counted again until the manager approves or rejects it. Nothing was changed.")

# The partner API (retail/api): keys, retries, versions, purchase orders to brands.
MESSAGES.update({
    "unauthenticated": N_("Send a valid API key as 'Authorization: Bearer <key>': this one is missing, unknown "
                          "or revoked."),
    "read_only_key": N_("This API key may only read: ask the platform for a key with the write scope."),
    "wrong_tenant": N_("This operation is for %(needed)s keys; this key belongs to a %(actual)s."),
    "version_mismatch": N_("%(what)s %(key)s has changed since you read it (version %(expected)s, now "
                           "%(current)s): read it again and repeat your change."),
    "version_required": N_("Send If-Match with the ETag of the version you read."),
    "purchase_line_closed": N_("Line %(sku)s of purchase order %(reference)s is already %(status)s."),
    "notice_exceeds_confirmed": N_("%(requested)s unit(s) of %(sku)s are more than remain confirmed on purchase "
                                   "order %(reference)s (%(remaining)s)."),
    "idempotency_key_reused": N_("This Idempotency-Key was used before with another request: nothing was "
                                 "changed. Use a new key for a new request."),
    "invalid_request": N_("The request does not match the API's schema (%(count)s error(s)): see errors."),
    "rate_limited": N_("Too many requests for this key: try again in %(seconds)s seconds."),
})

# The partner API's brand operations (retail/services/purchasing.py, catalogue.py, brand_reports.py).
MESSAGES.update({
    "not_on_purchase_order": N_("%(sku)s is not on purchase order %(reference)s."),
    "confirm_exceeds_proposed": N_("%(confirmed)s unit(s) of %(sku)s are more than the %(proposed)s proposed on "
                                   "purchase order %(reference)s: confirm at most the proposed quantity."),
    "serials_not_expected": N_("%(sku)s has no serial numbers: send its quantity without serials."),
    "date_range_invalid": N_("From %(start)s to %(end)s is not a valid range: the start must be on or before the "
                             "end, and the range at most %(max_days)s days."),
})

# The store operations of the partner API (retail/api/store.py): batches of till sales and returns.
MESSAGES.update({
    "invalid_batch": N_("%(count)s row(s) of the batch are refused: nothing was recorded. Correct them (see "
                        "errors) and send the batch again."),
    "currency_mismatch": N_("Store %(location)s sells in %(currency)s, not in %(given)s."),
    "not_in_suggestion": N_("%(sku)s is not among the store's suggested lines: it cannot be ordered here."),
})

# Agreements, credit holds and settlement statements (issue 15; retail/services/settlement.py). The hold reasons
# of a franchise order are shown by their code (hold_*), with the figures kept at pricing.
MESSAGES.update({
    "credit_hold_unacknowledged": N_("Order %(reference)s is held (%(reasons)s): tick “I acknowledge the hold” to "
                                     "approve it."),
    "agreement_invalid": N_("The agreement is not valid: %(reason)s."),
    "agreement_backdated": N_("Statements of store %(store)s are issued up to %(month)s: a new version starts on "
                              "%(earliest)s or later."),
    "no_agreement": N_("Store %(store)s has no %(model)s agreement in force on %(day)s."),
    "month_not_over": N_("Month %(month)s is not over yet: its statements are issued from %(first_day)s."),
    "hold_credit_limit": N_("open balance %(open_balance)s plus orders not yet invoiced %(pending)s plus this order "
                            "%(order_total)s is over the credit limit %(credit_limit)s %(currency)s"),
    "hold_agreement_status": N_("the agreement is %(status)s"),
    "hold_brand_not_authorised": N_("brands not authorised for the store: %(skus)s"),
})

# Transfers stay on one side of the border between the mainland and Hong Kong (services/transfers.py).
MESSAGES["transfer_across_border"] = N_("%(origin)s and %(destination)s are on two sides of the border between "
                                        "the mainland and Hong Kong: stock cannot go from one to the other store "
                                        "to store. Ask a store on your side.")

# Customer orders, the endless aisle (retail/services/customer_orders.py, docs/customer-orders.md).
MESSAGES.update({
    "customer_order_closed": N_("Customer order %(reference)s can no longer be changed this way: it has moved on "
                                "or was closed by another answer. Nothing was changed."),
    "customer_order_on_shelf": N_("%(sku)s is on the shelf here (%(available)s available): sell it instead of "
                                  "ordering it."),
    "customer_order_too_many": N_("A customer order is for 1 to %(limit)s units, not %(quantity)s."),
    "customer_order_deposit_above_price": N_("The deposit %(deposit)s is more than the price, %(price)s "
                                             "%(currency)s."),
    "customer_order_promise_out_of_range": N_("The promised date %(value)s must lie between %(first)s and "
                                              "%(last)s."),
    "customer_order_no_source": N_("No store in %(city)s and not the DC has %(quantity)s of %(sku)s to spare yet: "
                                   "the order waits. Try again later."),
    "customer_order_transfer_answered": N_("The transfer for customer order %(reference)s was %(status)s: cancel "
                                           "the order and order again."),
})
FIELDS.update({
    "Customer order": N_("Customer order"),
    "deposit": N_("deposit"),
    "promised_date": N_("promised date"),
    "customer_ref": N_("customer reference"),
    "contact": N_("customer contact"),
    "address": N_("delivery address"),
    "fulfilment": N_("pickup or delivery"),
})

# Ranges (issue 17; services/ranging.py): why a range change is proposed (reason codes of forecasting.ranging, with
# the cell's weekly demand and each option's contribution a week), and the refusals of ranging and calibration.
MESSAGES.update({
    "range_fast_mover": N_("Sells about %(weekly)s a week: stock on the shelf earns %(stock)s a week, a demo unit "
                           "sold to order %(show)s."),
    "range_sells_to_order": N_("Sells about %(weekly)s a week: a demo unit sold to order earns %(show)s a week, "
                               "stock on the shelf %(stock)s."),
    "range_low_demand": N_("Sells about %(weekly)s a week: neither stock (%(stock)s a week) nor a demo unit "
                           "(%(show)s) pays for itself here."),
    "range_end_of_life": N_("The model reaches the end of its life soon: no new stock and no new demo unit."),
    "range_launch_seeding": N_("A new launch: shown where it can sell (about %(weekly)s a week expected)."),
    "range_brand_requirement": N_("The brand asks stores of this city tier to display a minimum number of its "
                                  "models."),
    "range_display_capacity": N_("The store's display slots are full: models worth more take them (this one "
                                 "earns %(show)s a week shown)."),
    "range_setting_invalid": N_("The range setting %(key)s is not valid: %(reason)s."),
    "calibration_unavailable": N_("The calibration cannot run: %(reason)s."),
})

# Range lines of a replenishment plan (services/replenishment.range_proposals), by kind and reason.
MESSAGES.update({
    "range_line_display": N_("Put %(units)s unit(s) from the shelf on display: the store only shows this model."),
    "range_line_return": N_("Send %(units)s unit(s) back to the warehouse: the store no longer sells this model "
                            "from stock."),
    "range_line_markdown": N_("Mark %(units)s demo unit(s) down to %(price)s (list price %(list_price)s): the "
                              "model reaches its end of life or is no longer shown."),
})
