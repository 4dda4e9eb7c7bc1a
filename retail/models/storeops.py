"""The daily work of a shop that is not itself a stock movement: missed sales (demand the
shelf could not serve), stock counts waiting for a manager, and transfer requests between stores.

Counted differences become stock only through `inventory.adjust_count`; a transfer request
becomes stock only when someone ships it through `shipments.ship`.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["MissedSale", "CountStatus", "StockCount", "StockCountLine", "TransferStatus", "TransferRequest"]


class MissedSale(SQLModel, table=True):
    """A customer asked for a SKU the store could not sell: demand that a stockout hides."""

    __tablename__ = "missed_sale"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="missed_quantity_positive"),
        Index("ix_missed_sale_store_ts", "store_id", "ts"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    store_id: int = Field(foreign_key="location.id")
    product_id: int = Field(foreign_key="product.id", index=True)
    quantity: int = 1
    reason: str = Field(default="out_of_stock", max_length=20)  # out_of_stock | no_demo | other
    note: str | None = Field(default=None, max_length=240)
    actor_id: int | None = Field(default=None, foreign_key="user.id")


class CountStatus(StrEnum):
    pending_approval = "pending_approval"
    applied = "applied"
    rejected = "rejected"


class StockCount(SQLModel, table=True):
    """One counting of a store's shelf. Applied at once, or held for a manager when a difference is large."""

    __tablename__ = "stock_count"
    __table_args__ = (
        CheckConstraint("status IN ('pending_approval', 'applied', 'rejected')", name="count_status_known"),
        Index("ix_stock_count_store_status", "store_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="location.id")
    status: str = Field(max_length=20)
    reason: str = Field(max_length=240)
    counted_by: int | None = Field(default=None, foreign_key="user.id")
    counted_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))


class StockCountLine(SQLModel, table=True):
    __tablename__ = "stock_count_line"
    __table_args__ = (
        UniqueConstraint("count_id", "product_id"),
        CheckConstraint("counted >= 0", name="counted_not_negative"),
    )
    id: int | None = Field(default=None, primary_key=True)
    count_id: int = Field(foreign_key="stock_count.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    expected: int  # the ledger's on-hand when counted
    counted: int
    large: bool = False
    # Serialised SKUs, counted by serial: {"missing": [...], "found": [...]} against the register when
    # counted (in stock but not scanned; written off by an earlier count and scanned again). None otherwise.
    serials: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class TransferStatus(StrEnum):
    requested = "requested"
    shipped = "shipped"
    declined = "declined"
    cancelled = "cancelled"


class TransferRequest(SQLModel, table=True):
    """A store (`to_store_id`) asks another store (`from_store_id`, the origin) to send it units.

    The origin ships it (a shipment `TR-<id>` through `shipments.ship`, linked by `shipment_id`) or
    declines it with a reason; the requesting store may cancel it while it is still requested. Each
    of these is a conditional update from `requested`: of two concurrent decisions only one lands.
    `acted_by`/`acted_at` say who shipped, declined or cancelled it and when (migration 0006)."""

    __tablename__ = "transfer_request"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="transfer_quantity_positive"),
        CheckConstraint("from_store_id <> to_store_id", name="transfer_between_two_stores"),
        CheckConstraint("status IN ('requested', 'shipped', 'declined', 'cancelled')", name="transfer_status_known"),
        UniqueConstraint("shipment_id", name="uq_transfer_request_shipment_id"),
        Index("ix_transfer_request_to_status", "to_store_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    from_store_id: int = Field(foreign_key="location.id", index=True)
    to_store_id: int = Field(foreign_key="location.id")
    product_id: int = Field(foreign_key="product.id")
    quantity: int
    status: str = Field(default=TransferStatus.requested, max_length=12)
    note: str | None = Field(default=None, max_length=240)
    requested_by: int | None = Field(default=None, foreign_key="user.id")
    requested_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    shipment_id: int | None = Field(default=None, foreign_key="shipment.id")
    acted_by: int | None = Field(default=None, foreign_key="user.id")
    acted_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))
    decline_reason: str | None = Field(default=None, max_length=240)
