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


class UnknownSerial(DomainError):
    code = "unknown_serial"
    message = "Serial number {serial} of {sku} is not in stock at {location}."


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


class SerialNotSold(DomainError):
    code = "serial_not_sold"
    message = "Serial number {serial} has not been sold: it cannot be returned."


class ReturnExceedsSale(DomainError):
    code = "return_exceeds_sale"
    message = "Sale {sale} sold {sold} unit(s) and {returned} are already returned; {requested} requested."


class CountClosed(DomainError):
    code = "count_closed"
    message = "Stock count {count} is already {status}."


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
class SerialSoldElsewhere(DomainError):
    code = "serial_sold_elsewhere"
    message = "Serial number {serial} of {sku} was sold at {sold_at}, not at {location}: it can only be returned there."


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
