"""Customer orders (issue 17, the endless aisle): a SKU not on the shelf ordered for a customer. See
docs/customer-orders.md.

`CustomerOrder` is one order of one SKU at one store; its `state` moves only by the transitions of
`retail/services/customer_orders.py` (`NEXT`), each a conditional UPDATE on the state. `CustomerOrderEvent`
is its history: one row per transition that happened (a repeated transition writes none).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

from retail.models.core import Money, UtcDateTime, utcnow

__all__ = ["CustomerOrderState", "CustomerOrder", "CustomerOrderEvent"]


class CustomerOrderState(StrEnum):
    placed = "placed"  # taken at the store; no source with stock found yet
    sourced = "sourced"  # a source chosen, its units reserved there
    shipped = "shipped"  # on its way to the ordering store (a shipment in the ledger)
    arrived = "arrived"  # received at the ordering store, held for the customer
    handed_over = "handed_over"  # sold to the customer (a sale through sales.sell)
    cancelled = "cancelled"


class CustomerOrder(SQLModel, table=True):
    __tablename__ = "customer_order"
    __table_args__ = (
        CheckConstraint("state IN ('placed', 'sourced', 'shipped', 'arrived', 'handed_over', 'cancelled')",
                        name="customer_order_state_known"),
        CheckConstraint("quantity >= 1 AND quantity <= 5", name="customer_order_quantity_bounded"),
        CheckConstraint("deposit >= 0", name="customer_order_deposit_not_negative"),
        CheckConstraint("fulfilment IN ('pickup', 'delivery')", name="customer_order_fulfilment_known"),
        Index("ix_customer_order_store_state", "store_id", "state"),
        Index("ix_customer_order_source_state", "source_location_id", "state"),
    )
    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="location.id")
    product_id: int = Field(foreign_key="product.id")
    quantity: int
    state: str = Field(default=CustomerOrderState.placed, max_length=12)
    currency: str = Field(max_length=3)  # the ordering store's
    unit_price: Decimal = Field(sa_column=Money(nullable=False))  # list price in that currency when placed
    deposit: Decimal = Field(default=Decimal("0.00"), sa_column=Money(nullable=False))
    promised_date: date
    fulfilment: str = Field(default="pickup", max_length=8)
    customer_ref: str = Field(max_length=40)  # the store's own reference (a receipt or ticket number)
    contact: str | None = Field(default=None, max_length=120)  # how to reach the customer (a phone number)
    address: str | None = Field(default=None, max_length=240)  # delivery only
    source_kind: str | None = Field(default=None, max_length=8)  # 'store' or 'dc'
    source_location_id: int | None = Field(default=None, foreign_key="location.id")
    reserved_at_source: int = 0  # units this order holds in the source's `stock_balance.reserved`
    reserved_here: int = 0  # units this order holds in the ordering store's `reserved` after arrival
    transfer_id: int | None = Field(default=None, foreign_key="transfer_request.id")
    shipment_id: int | None = Field(default=None, foreign_key="shipment.id")
    serials: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # arrived for it
    sale_movement_id: int | None = Field(default=None, foreign_key="movement.id")
    refund: Decimal | None = Field(default=None, sa_column=Money(nullable=True))  # deposit paid back
    cancel_reason: str | None = Field(default=None, max_length=240)
    placed_by: int | None = Field(default=None, foreign_key="user.id")
    placed_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class CustomerOrderEvent(SQLModel, table=True):
    __tablename__ = "customer_order_event"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="customer_order.id", index=True)
    from_state: str | None = Field(default=None, max_length=12)
    to_state: str = Field(max_length=12)
    at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    detail: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
