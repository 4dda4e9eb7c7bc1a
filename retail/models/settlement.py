"""Franchise and consignment agreements, prices, invoices, payments and monthly settlement statements
(issue 15; docs/settlement.md).

- `Agreement`: one row per version of a store's agreement; a change is a new version, an issued version is
  never updated. The version in force on a day is the one with the latest `valid_from` on or before it.
- `PriceEntry`: list prices, wholesale prices per tier and promotions, per currency, with date ranges.
- `OrderPricing`: a franchise order priced when submitted, its credit check and the hold's reason.
- `Invoice`: a shipped franchise order, invoiced once (unique on the order). `Payment`: money received.
- `Statement`: a store's month, issued once and never changed; a correction is an adjusting statement of the
  same month with the next `sequence`.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, Numeric, UniqueConstraint
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

from retail.models.core import Money, UtcDateTime, utcnow

__all__ = ["AgreementModel", "AgreementStatus", "Agreement", "PriceEntry", "OrderPricing", "Invoice", "Payment",
           "Statement"]


def Rate(**kwargs) -> Column:  # noqa: N802 - reads as a column type
    return Column(Numeric(6, 4), **kwargs)


class AgreementModel(StrEnum):
    franchise = "franchise"
    consignment = "consignment"


class AgreementStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    terminated = "terminated"


class Agreement(SQLModel, table=True):
    """One version of a store's agreement. Franchise: `wholesale_tier`, `deposit`, `credit_limit` (None: no
    limit), `payment_terms_days`. Consignment: `revenue_share` (the store's share of what it sells) and
    `shrinkage_rate` (the share of the list price charged per unit counted missing). `brand_terms` overrides
    per brand id: {"<brand id>": {"tier": "B"} or {"revenue_share": "0.25"}}. `authorised_brands`: brand ids
    the store may order (None: every brand)."""

    __table_args__ = (
        UniqueConstraint("location_id", "version", name="uq_agreement_store_version"),
        CheckConstraint("model IN ('franchise', 'consignment')", name="agreement_model_known"),
        CheckConstraint("status IN ('active', 'suspended', 'terminated')", name="agreement_status_known"),
        CheckConstraint("currency IN ('CNY', 'HKD')", name="agreement_currency_known"),
        CheckConstraint("revenue_share IS NULL OR (revenue_share >= 0 AND revenue_share <= 1)",
                        name="revenue_share_fraction"),
        CheckConstraint("shrinkage_rate >= 0 AND shrinkage_rate <= 2", name="shrinkage_rate_bounded"),
        CheckConstraint("credit_limit IS NULL OR credit_limit >= 0", name="credit_limit_not_negative"),
        CheckConstraint("deposit >= 0", name="deposit_not_negative"),
        CheckConstraint("payment_terms_days >= 0 AND payment_terms_days <= 365", name="payment_terms_bounded"),
        CheckConstraint("ends_on IS NULL OR ends_on >= valid_from", name="agreement_ends_after_start"),
        Index("ix_agreement_store_from", "location_id", "valid_from"),
    )
    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id")
    version: int
    valid_from: date
    ends_on: date | None = None
    model: str = Field(max_length=12)
    status: str = Field(default=AgreementStatus.active, max_length=12)
    currency: str = Field(default="CNY", max_length=3)
    wholesale_tier: str | None = Field(default=None, max_length=8)
    revenue_share: Decimal | None = Field(default=None, sa_column=Rate(nullable=True))
    shrinkage_rate: Decimal = Field(default=Decimal("1"), sa_column=Rate(nullable=False))
    brand_terms: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    authorised_brands: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    deposit: Decimal = Field(default=Decimal("0"), sa_column=Money(nullable=False))
    credit_limit: Decimal | None = Field(default=None, sa_column=Money(nullable=True))
    payment_terms_days: int = 30
    note: str | None = Field(default=None, max_length=240)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class PriceEntry(SQLModel, table=True):
    """A price of a product in one price list (`list`, or a wholesale tier such as `A`) and currency, from
    `valid_from` to `valid_to` (inclusive; None: open). A promotion wins over a regular price on its days."""

    __tablename__ = "price_entry"
    __table_args__ = (
        CheckConstraint("currency IN ('CNY', 'HKD')", name="price_currency_known"),
        CheckConstraint("amount >= 0", name="price_not_negative"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="price_range_ordered"),
        Index("ix_price_entry_lookup", "product_id", "price_list", "currency", "valid_from"),
    )
    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id")
    price_list: str = Field(max_length=8)
    currency: str = Field(max_length=3)
    amount: Decimal = Field(sa_column=Money(nullable=False))
    valid_from: date
    valid_to: date | None = None
    promotion: bool = False
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class OrderPricing(SQLModel, table=True):
    """A franchise store's submitted order, priced from the price list in force that day, and its credit check.
    `hold_reasons` (codes with their figures) is empty when the order may be approved as usual; a held order
    is approved only with the reasons acknowledged (`acknowledged_by`)."""

    __tablename__ = "order_pricing"
    order_id: int = Field(foreign_key="replenishment_order.id", primary_key=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    agreement_id: int = Field(foreign_key="agreement.id")
    currency: str = Field(max_length=3)
    total: Decimal = Field(sa_column=Money(nullable=False))
    lines: list = Field(sa_column=Column(JSON, nullable=False))  # [{product_id, sku, quantity, unit_price, amount}]
    open_balance: Decimal = Field(sa_column=Money(nullable=False))
    credit_limit: Decimal | None = Field(default=None, sa_column=Money(nullable=True))
    hold_reasons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    held: bool = False
    acknowledged_by: int | None = Field(default=None, foreign_key="user.id")
    acknowledged_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))
    priced_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class Invoice(SQLModel, table=True):
    __table_args__ = (CheckConstraint("currency IN ('CNY', 'HKD')", name="invoice_currency_known"),)
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    order_id: int = Field(foreign_key="replenishment_order.id", unique=True)  # invoiced once
    agreement_id: int = Field(foreign_key="agreement.id")
    currency: str = Field(max_length=3)
    total: Decimal = Field(sa_column=Money(nullable=False))
    lines: list = Field(sa_column=Column(JSON, nullable=False))
    issued_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False, index=True))
    due_on: date


class Payment(SQLModel, table=True):
    """Money a franchise store paid, recorded by a planner. The reference (a bank transfer's number) is unique
    per store: recording the same payment again changes nothing."""

    __table_args__ = (
        UniqueConstraint("location_id", "reference", name="uq_payment_store_reference"),
        CheckConstraint("amount > 0", name="payment_positive"),
        CheckConstraint("currency IN ('CNY', 'HKD')", name="payment_currency_known"),
        Index("ix_payment_store_received", "location_id", "received_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id")
    amount: Decimal = Field(sa_column=Money(nullable=False))
    currency: str = Field(max_length=3)
    received_at: datetime = Field(sa_column=UtcDateTime(nullable=False))  # the store's local day, 00:00, in UTC
    reference: str = Field(max_length=64)
    note: str | None = Field(default=None, max_length=240)
    recorded_by: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class Statement(SQLModel, table=True):
    """A store's settlement statement for a month (`month` is its first day, in the store's time zone).
    Sequence 1 is the month's statement; 2, 3, ... adjust it for what was recorded into the month after it
    was issued (`lines` and `totals` are then the differences). `reported_in` is the month of the run that
    issued it. `seen_*_id` are the highest movement, invoice and payment ids there were when it was computed: a
    row of the month with a higher id was recorded late."""

    __table_args__ = (
        UniqueConstraint("location_id", "month", "sequence", name="uq_statement_store_month_sequence"),
        CheckConstraint("model IN ('franchise', 'consignment')", name="statement_model_known"),
        CheckConstraint("sequence >= 1", name="statement_sequence_positive"),
        Index("ix_statement_month", "month"),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    location_id: int = Field(foreign_key="location.id")
    month: date
    sequence: int = 1
    reported_in: date
    model: str = Field(max_length=12)
    currency: str = Field(max_length=3)
    agreement_versions: list = Field(sa_column=Column(JSON, nullable=False))
    totals: dict = Field(sa_column=Column(JSON, nullable=False))  # decimal strings
    lines: list = Field(sa_column=Column(JSON, nullable=False))
    seen_movement_id: int = 0
    seen_invoice_id: int = 0
    seen_payment_id: int = 0
    issued_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
