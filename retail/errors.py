"""Business failures, named for the condition. Adapters map them to HTTP and to form messages, once."""
from __future__ import annotations


class DomainError(Exception):
    """A request the business rules refuse. `code` is stable; `params` fill the message."""

    code = "domain_error"
    message = "The request was refused."

    def __init__(self, **params):
        self.params = params
        super().__init__(self.message.format(**params))


class NotFound(DomainError):
    code = "not_found"
    message = "{what} {key} does not exist."


class UnknownProduct(NotFound):
    code = "unknown_product"
    message = "No product has SKU or barcode {sku}."


class UnknownLocation(NotFound):
    code = "unknown_location"
    message = "No store or warehouse has code {location}."


class LocationInactive(DomainError):
    code = "location_inactive"
    message = "{location} is {status}: it cannot move stock."


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    message = "Quantity must be a whole number of at least 1 (got {quantity})."


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    message = "Only {available} of {sku} in stock at {location}; {requested} requested."


class SerialsRequired(DomainError):
    code = "serials_required"
    message = "{sku} is serialised: scan {quantity} serial number(s), got {given}."


class SerialNotHere(DomainError):
    """A serial number that is not a unit of this store for what was asked: not in its stock to sell or move,
    not sold by it to take back. One code and one sentence whatever the unit is elsewhere (in stock at
    another location, sold by another store, unknown), naming only the serial typed: a store learns nothing
    of serials outside its own stock and sales (issue 10, item 13)."""

    code = "serial_not_here"
    message = "Serial number {serial} is not a unit of this store for this: check the number."

    def __init__(self, *, serial, **_where):  # where the unit is (sku, location) is never told
        super().__init__(serial=serial)


# The name the ledger's callers know (a sale or move of a serial not in stock here): the same refusal.
UnknownSerial = SerialNotHere


class DuplicateSerial(DomainError):
    code = "duplicate_serial"
    message = "Serial number {serial} already exists."


class ShipmentClosed(DomainError):
    code = "shipment_closed"
    message = "Shipment {reference} is already {status}."


class DuplicateReference(DomainError):
    code = "duplicate_reference"
    message = "Reference {reference} has already been used."


class Forbidden(DomainError):
    code = "forbidden"
    message = "You may not act on {what}."


# Store operations and administration (the store web forms), added with issue 5.
class MissingValue(DomainError):
    code = "missing_value"
    message = "{field} is required."


class InvalidValue(DomainError):
    code = "invalid_value"
    message = "{value} is not a valid {field}."


class ReturnExceedsSale(DomainError):
    code = "return_exceeds_sale"
    message = "Sale {sale} sold {sold} unit(s) and {returned} are already returned; {requested} requested."


class CountClosed(DomainError):
    code = "count_closed"
    message = "Stock count {count} is already {status}."


class ShelfSerialsNotHere(DomainError):
    code = "shelf_serials_not_here"
    message = "Scanned serial number(s) not in this store's stock: {serials}."


class TransferToSameStore(DomainError):
    code = "transfer_to_same_store"
    message = "A transfer needs two different stores ({location})."


class WrongPassword(DomainError):
    code = "wrong_password"
    message = "The current password is not correct."


class WeakPassword(DomainError):
    code = "weak_password"
    message = "A password needs at least {min_length} characters."


class AlreadyExists(DomainError):
    code = "already_exists"
    message = "{what} {key} already exists."


# Stock ledger rules on serial numbers (returns where sold, counts by serial).
class CountedSerialsNotHere(DomainError):
    code = "counted_serials_not_here"
    message = ("Serial number(s) {serials} of {sku} were scanned in a count at {location} but are not in its stock "
               "(sold, on display, at another location, or unknown).")


# Transfer requests between stores: shipped or declined by the origin, cancelled by the requester.
class TransferClosed(DomainError):
    code = "transfer_closed"
    message = "Transfer request {transfer} is already {status}."


# Bounded input (retail/parsing.py): every value a form, a POS file or the API carries has a limit.
class TooMany(DomainError):
    code = "too_many"
    message = "At most {limit} {field} at a time."


class TooLong(DomainError):
    code = "too_long"
    message = "{field} may have at most {max_length} characters."


class SerialTooLong(DomainError):
    code = "serial_too_long"
    message = "Serial number {serial} is longer than {max_length} characters."


class InvalidMoney(DomainError):
    code = "invalid_money"
    message = "{value} is not a valid amount for {field} (at most 10 digits and 2 decimals, not negative)."


class InvalidDate(DomainError):
    code = "invalid_date"
    message = "{value} is not a valid date for {field} (years 2000 to 2100)."


# Receiving (services/deliveries.receive): bounded by what was shipped; serialised lines by their scans.
class NotOnShipment(DomainError):
    code = "not_on_shipment"
    message = "{sku} is not on delivery {reference}."


class SerialNotShipped(DomainError):
    code = "serial_not_shipped"
    message = "Serial number {serial} was not shipped as {sku} on delivery {reference}."


class ScanArrivedSerials(DomainError):
    code = "scan_arrived_serials"
    message = "{sku} has serial numbers: scan each unit that arrived ({counted} counted, {scanned} scanned)."


class SurplusDecided(DomainError):
    code = "surplus_decided"
    message = "No surplus of {sku} on delivery {reference} waits for a decision."


# One-time keys of the requests that write (retail/models/idempotency.py, recorded by verbs.transaction).
class AlreadyRecorded(Exception):  # noqa: N818 - not a refusal: the request acted before
    """The request's key was recorded by an earlier request with the same content: that one acted, this one
    changed nothing. Not a DomainError: the adapter answers as the first success did."""

    code = "already_recorded"


class RequestKeyReused(DomainError):
    code = "request_key_reused"
    message = "This form was already sent with other values: nothing was changed."


# Stock counts (issue 10): one count of a store x SKU waits for a manager at a time.
class CountPending(DomainError):
    code = "count_pending"
    message = ("{sku} already has a stock count waiting for a manager (count {count}): it cannot be counted again "
               "until that count is decided.")


# A sale's price against the list price (services/sales.sell: PRICE_FLOOR, PRICE_CEILING).
class PriceOutOfBand(DomainError):
    code = "price_out_of_band"
    message = ("{sku} at {price} {currency} is refused: the list price is {list_price} {currency}, "
               "a sale may be between {minimum} and {maximum} {currency}.")


# A POS file's confirmation names a staged file (services/pos_import: staged between preview and confirmation).
class StagedFileMissing(DomainError):
    code = "pos_file_not_staged"
    message = "The previewed file is no longer waiting for confirmation (older than {hours} hours): upload it again."


# The partner API (retail/api): keys, retries, optimistic concurrency.
class Unauthenticated(DomainError):
    """No key, an unknown key or a revoked one: one answer for all, so that a key cannot be probed."""

    code = "unauthenticated"
    message = "Send a valid API key as 'Authorization: Bearer <key>'."


class ReadOnlyKey(DomainError):
    code = "read_only_key"
    message = "This API key may only read: ask for a key with the write scope."


class WrongTenant(DomainError):
    code = "wrong_tenant"
    message = "This operation is for {needed} keys; this key belongs to a {actual}."


class VersionMismatch(DomainError):
    code = "version_mismatch"
    message = "{what} {key} has changed since version {expected} (now {current}): read it again."


class VersionRequired(DomainError):
    code = "version_required"
    message = "Send If-Match with the ETag of the version you read."


class PurchaseLineClosed(DomainError):
    code = "purchase_line_closed"
    message = "Line {sku} of purchase order {reference} is already {status}."


class NoticeExceedsConfirmed(DomainError):
    code = "notice_exceeds_confirmed"
    message = ("{requested} unit(s) of {sku} exceed what remains confirmed on purchase order {reference} "
               "({remaining}).")


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used before with another request: nothing was changed."


# Purchase orders to brands and their shipment notices (retail/services/purchasing.py).
class NotOnPurchaseOrder(DomainError):
    code = "not_on_purchase_order"
    message = "{sku} is not on purchase order {reference}."


class ConfirmExceedsProposed(DomainError):
    code = "confirm_exceeds_proposed"
    message = "{confirmed} unit(s) of {sku} exceed the {proposed} proposed on purchase order {reference}."


class SerialsNotExpected(DomainError):
    code = "serials_not_expected"
    message = "{sku} has no serial numbers: send its quantity without serials."


class DateRangeInvalid(DomainError):
    code = "date_range_invalid"
    message = "From {start} to {end} is not a valid range: start on or before end, at most {max_days} days."


# The store operations of the partner API (retail/services/store_api.py): batches of till sales and returns.
class InvalidBatch(DomainError):
    """Rows of a batch of sales or returns are refused: nothing of the batch is recorded. `errors` are the
    POS import's row errors (`pos_import.RowError`), numbered from 1 in the order of the batch."""

    code = "invalid_batch"
    message = "{count} row(s) of the batch are refused: nothing was recorded."

    def __init__(self, errors_: list):
        self.errors = errors_
        super().__init__(count=len({e.row_number for e in errors_}))


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"
    message = "Store {location} sells in {currency}, not in {given}."


class NotInSuggestion(DomainError):
    code = "not_in_suggestion"
    message = "{sku} is not among the store's suggested lines."


# Agreements, prices, credit holds and settlement statements (issue 15; retail/services/settlement.py).
class CreditHoldNotAcknowledged(DomainError):
    """A franchise order held at submission (credit limit, agreement status, brands not authorised) is approved
    only by a planner who acknowledges the hold's reasons."""

    code = "credit_hold_unacknowledged"
    message = "Order {reference} is held ({reasons}): approve it with the hold acknowledged."


class AgreementInvalid(DomainError):
    code = "agreement_invalid"
    message = "The agreement is not valid: {reason}."


class AgreementBackdated(DomainError):
    code = "agreement_backdated"
    message = "Statements of store {store} are issued up to {month}: a new version starts on {earliest} or later."


class NoAgreement(DomainError):
    code = "no_agreement"
    message = "Store {store} has no {model} agreement in force on {day}."


class MonthNotOver(DomainError):
    code = "month_not_over"
    message = "Month {month} is not over yet: its statements are issued from {first_day}."


class TransferAcrossBorder(DomainError):
    """Stock does not go store to store between mainland China and Hong Kong: it would cross a customs border
    (and change currency); it goes back through a warehouse instead."""

    code = "transfer_across_border"
    message = "{origin} and {destination} are on two sides of the border: ask a store on your side."
