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


class Forbidden(DomainError):
    code = "forbidden"
    message = "You may not act on {what}."
