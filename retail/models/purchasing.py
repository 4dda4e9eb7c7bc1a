"""Purchase orders to the brands, and their advance shipment notices.

A replenishment plan's purchase proposals (`PurchaseProposal`) are addressed to each brand as one
purchase order per brand and warehouse. The brand answers line by line: confirms a quantity (at most the
proposed one) or rejects it. Against confirmed lines it sends advance shipment notices (ASN) with the
serial numbers of the units: each notice is a `Shipment` into the warehouse, in transit until received.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["PurchaseOrderStatus", "PurchaseLineStatus", "PurchaseOrder", "PurchaseOrderLine", "ShipmentNotice"]


class PurchaseOrderStatus(StrEnum):
    open = "open"          # some line awaits the brand's answer
    answered = "answered"  # every line confirmed or rejected
    closed = "closed"      # every confirmed unit notified as shipped


class PurchaseLineStatus(StrEnum):
    open = "open"
    confirmed = "confirmed"
    rejected = "rejected"


class PurchaseOrder(SQLModel, table=True):
    __tablename__ = "purchase_order"
    __table_args__ = (UniqueConstraint("run_id", "brand_id", "dc_id", name="one_order_per_plan_brand_dc"),
                      CheckConstraint("status IN ('open', 'answered', 'closed')", name="purchase_status_known"))
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True, index=True)
    run_id: int = Field(foreign_key="replenishment_run.id", index=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    dc_id: int = Field(foreign_key="location.id")
    status: str = Field(default=PurchaseOrderStatus.open, max_length=12, index=True)
    arrival_week: date
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class PurchaseOrderLine(SQLModel, table=True):
    __tablename__ = "purchase_order_line"
    __table_args__ = (
        UniqueConstraint("order_id", "product_id"),
        CheckConstraint("quantity > 0", name="purchase_line_positive"),
        CheckConstraint("status IN ('open', 'confirmed', 'rejected')", name="purchase_line_status_known"),
        CheckConstraint("confirmed_quantity IS NULL OR (confirmed_quantity >= 0 AND confirmed_quantity <= quantity)",
                        name="confirmed_within_proposed"),
        CheckConstraint("notified_quantity >= 0 AND notified_quantity <= COALESCE(confirmed_quantity, 0)",
                        name="notified_within_confirmed"),
    )
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="purchase_order.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    proposal_id: int | None = Field(default=None, foreign_key="purchase_proposal.id")
    quantity: int  # proposed
    status: str = Field(default=PurchaseLineStatus.open, max_length=12)
    confirmed_quantity: int | None = None
    notified_quantity: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    answered_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))


class ShipmentNotice(SQLModel, table=True):
    """An advance shipment notice: the brand's own reference (unique per brand), the order it ships
    against, and the shipment it put in transit."""

    __tablename__ = "shipment_notice"
    __table_args__ = (UniqueConstraint("brand_id", "reference", name="uq_shipment_notice_brand_reference"),)
    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    reference: str = Field(max_length=40)
    order_id: int = Field(foreign_key="purchase_order.id", index=True)
    shipment_id: int = Field(foreign_key="shipment.id", unique=True)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
