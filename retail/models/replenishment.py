"""Forecast runs, replenishment runs and what they suggest, and the orders people make of them.

A forecast run stores per store x SKU one row with the horizon's weekly means and quantiles
(JSON lists: compact, one insert per series). A replenishment run is unique per forecast run
and as_of, and its suggestions per (run, store, SKU): re-running a plan never duplicates.
Suggestions become orders only when a person submits them; an order moves
suggested -> submitted -> approved -> shipped -> received -> closed, or to cancelled.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, UniqueConstraint
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["OrderStatus", "ForecastRun", "ForecastSeries", "ReplenishmentRun", "SuggestedLine", "Allocation",
           "PurchaseProposal", "TransferProposal", "ReplenishmentOrder", "ReplenishmentOrderLine"]


class OrderStatus(StrEnum):
    suggested = "suggested"
    submitted = "submitted"
    approved = "approved"
    shipped = "shipped"
    received = "received"
    closed = "closed"
    cancelled = "cancelled"


class ForecastRun(SQLModel, table=True):
    __tablename__ = "forecast_run"
    id: int | None = Field(default=None, primary_key=True)
    start_week: date = Field(index=True)  # first forecast week (a Monday)
    horizon: int
    quantiles: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    dispersion: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    series: int = 0
    seconds: float = 0.0
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class ForecastSeries(SQLModel, table=True):
    __tablename__ = "forecast_series"
    run_id: int = Field(foreign_key="forecast_run.id", primary_key=True)
    location_id: int = Field(foreign_key="location.id", primary_key=True)
    product_id: int = Field(foreign_key="product.id", primary_key=True)
    mean: list = Field(sa_column=Column(JSON, nullable=False))  # weekly means over the horizon
    quantiles: dict = Field(sa_column=Column(JSON, nullable=False))  # {"p50": [...], "p80": [...], ...}


class ReplenishmentRun(SQLModel, table=True):
    __tablename__ = "replenishment_run"
    __table_args__ = (UniqueConstraint("forecast_run_id", "as_of", name="one_plan_per_forecast_and_week"),)
    id: int | None = Field(default=None, primary_key=True)
    forecast_run_id: int = Field(foreign_key="forecast_run.id", index=True)
    as_of: date
    config: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    lines: int = 0
    units: int = 0
    seconds: float = 0.0
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class SuggestedLine(SQLModel, table=True):
    __tablename__ = "suggested_line"
    __table_args__ = (UniqueConstraint("run_id", "location_id", "product_id"),
                      CheckConstraint("quantity > 0", name="suggested_positive"))
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="replenishment_run.id", index=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    quantity: int
    explanation: dict = Field(sa_column=Column(JSON, nullable=False))  # the numbers behind the quantity
    text: str = Field(default="", max_length=600)
    order_id: int | None = Field(default=None, foreign_key="replenishment_order.id")


class Allocation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("run_id", "location_id", "product_id"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="replenishment_run.id", index=True)
    dc_id: int = Field(foreign_key="location.id")
    location_id: int = Field(foreign_key="location.id")
    product_id: int = Field(foreign_key="product.id")
    requested: int
    allocated: int


class PurchaseProposal(SQLModel, table=True):
    __tablename__ = "purchase_proposal"
    __table_args__ = (UniqueConstraint("run_id", "dc_id", "product_id"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="replenishment_run.id", index=True)
    dc_id: int = Field(foreign_key="location.id")
    product_id: int = Field(foreign_key="product.id")
    brand_id: int = Field(foreign_key="brand.id", index=True)
    quantity: int
    arrival_week: date
    explanation: dict = Field(sa_column=Column(JSON, nullable=False))


class TransferProposal(SQLModel, table=True):
    __tablename__ = "transfer_proposal"
    __table_args__ = (UniqueConstraint("run_id", "from_location_id", "to_location_id", "product_id"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="replenishment_run.id", index=True)
    from_location_id: int = Field(foreign_key="location.id")
    to_location_id: int = Field(foreign_key="location.id")
    product_id: int = Field(foreign_key="product.id")
    quantity: int
    expected_gain: float
    explanation: dict = Field(sa_column=Column(JSON, nullable=False))


class ReplenishmentOrder(SQLModel, table=True):
    __tablename__ = "replenishment_order"
    __table_args__ = (CheckConstraint(
        "status IN ('suggested', 'submitted', 'approved', 'shipped', 'received', 'closed', 'cancelled')",
        name="order_status_known"),)
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True, index=True)
    run_id: int = Field(foreign_key="replenishment_run.id", index=True)
    location_id: int = Field(foreign_key="location.id", index=True)  # the store
    from_location_id: int = Field(foreign_key="location.id")  # its DC
    status: str = Field(default=OrderStatus.submitted, max_length=12, index=True)
    shipment_id: int | None = Field(default=None, foreign_key="shipment.id")
    submitted_by: int | None = Field(default=None, foreign_key="user.id")
    approved_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class ReplenishmentOrderLine(SQLModel, table=True):
    __tablename__ = "replenishment_order_line"
    __table_args__ = (UniqueConstraint("order_id", "product_id"),
                      CheckConstraint("quantity > 0", name="order_line_positive"))
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="replenishment_order.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    quantity: int
    suggested_line_id: int | None = Field(default=None, foreign_key="suggested_line.id")
