"""The planners' dashboard (issue 16): weekly figures precomputed by the weekly job, and the planners'
decisions on a plan's proposals.

`DashboardWeek` holds additive sums per week and segment (the network, a brand, a province, a city tier, a
partnership model, a brand in a province, a brand at a store), so that a page adds rows and hands them to
`forecasting.kpis` (the one definition of each KPI) instead of reading the ledger. `PlanDecision` is a
planner's answer to a transfer or purchase proposal: one per proposal (unique), so a doubled click or two
planners at once decide it once.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["DashboardWeek", "DashboardAccuracy", "PlanDecision"]


class DashboardWeek(SQLModel, table=True):
    __tablename__ = "dashboard_week"
    __table_args__ = (Index("ix_dashboard_week_segment", "segment", "brand_id", "label", "week"),
                      Index("ix_dashboard_week_store", "location_id", "week"))
    id: int | None = Field(default=None, primary_key=True)
    as_of: date  # the Monday the job computed up to (exclusive)
    week: date  # a Monday (store local week)
    segment: str = Field(max_length=16)  # network | brand | province | tier | partnership | brand_province | brand_store
    brand_id: int | None = None
    location_id: int | None = None
    label: str = Field(default="", max_length=60)  # province, tier or partnership
    sold_units: int = 0
    sold_cost: float = 0.0
    demand_units: int = 0
    opening_units: int = 0
    received_units: int = 0
    closing_units: int = 0
    closing_cost: float = 0.0
    stockout_weeks: int = 0
    aged_units: int = 0
    aged_cost: float = 0.0
    cells: int = 0  # store x SKU cells with stock or sales in the week


class DashboardAccuracy(SQLModel, table=True):
    """A stored forecast run's first week against the units sold in it, per brand."""

    __tablename__ = "dashboard_accuracy"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="forecast_run.id", index=True)
    week: date
    brand_id: int
    forecast_units: float = 0.0
    actual_units: int = 0
    abs_error: float = 0.0


class PlanDecision(SQLModel, table=True):
    __tablename__ = "plan_decision"
    __table_args__ = (UniqueConstraint("kind", "proposal_id", name="one_decision_per_proposal"),
                      CheckConstraint("kind IN ('transfer', 'purchase')", name="plan_decision_kind_known"),
                      CheckConstraint("decision IN ('approved', 'rejected')", name="plan_decision_known"))
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=12)
    proposal_id: int
    decision: str = Field(max_length=12)
    transfer_request_id: int | None = Field(default=None, foreign_key="transfer_request.id")
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
