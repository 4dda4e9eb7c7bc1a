"""Ranging (issue 17): what each store stocks, only shows, or does not carry, with effective dates.

`StoreRange` is one store x SKU decision: `stock` (sellable units, order-up-to level from the policy), `show`
(one demo unit on display, sold to order) or `none`. A proposal is written by the weekly ranging job with its
reason and the figures behind it, once per cell and week (`week`, unique with the cell: a re-run writes
nothing twice); a planner approves or rejects it (one answer, by a conditional update). An approved decision is
in force from `valid_from` until the next approved decision of the same cell closes it (`valid_to`,
exclusive). The decision in force for a cell on a day is the approved row whose dates hold that day; a cell
without one is today's range (`services/ranging.decision_in_force`).

`RangeSetting` holds a planner's overrides of the ranging settings (display slots by store size, brand display
requirements, conversion by market and tier, markdown); the defaults live in `services/ranging.DEFAULTS`.
`RangeLine` is what a replenishment run proposes because of the range besides sellable order lines: put a unit
on display, send sellable stock back, mark a demo unit down at end of life. `PolicyCalibration` is a planner's
target (demand served) and the policy parameter the simulation found for it.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, UniqueConstraint
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["StoreRange", "RangeSetting", "RangeLine", "PolicyCalibration"]


class StoreRange(SQLModel, table=True):
    __tablename__ = "store_range"
    __table_args__ = (
        CheckConstraint("decision IN ('stock', 'show', 'none')", name="range_decision_known"),
        CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'superseded')", name="range_status_known"),
        UniqueConstraint("location_id", "product_id", "week", name="one_range_proposal_per_cell_and_week"),
        Index("ix_store_range_cell", "location_id", "product_id", "status", "valid_from"),
        Index("ix_store_range_status", "status", "valid_from"),
        Index("ix_store_range_week", "week", "status", "location_id", "product_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id")
    product_id: int = Field(foreign_key="product.id")
    week: date  # the Monday of the weekly proposal
    decision: str = Field(max_length=8)
    previous: str | None = Field(default=None, max_length=8)  # the decision in force when proposed
    status: str = Field(default="proposed", max_length=12)
    reason: str = Field(default="", max_length=32)  # a reason code, worded by retail/messages.py
    valid_from: date
    valid_to: date | None = None  # exclusive; None: open
    weekly_demand: float = 0.0  # the forecast's mean weekly demand behind the decision
    value_stock: float = 0.0  # expected contribution per week of each option, in `currency`
    value_show: float = 0.0
    currency: str = Field(default="CNY", max_length=3)
    detail: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # further figures
    proposed_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))


class RangeSetting(SQLModel, table=True):
    __tablename__ = "range_setting"
    key: str = Field(primary_key=True, max_length=40)
    value: dict = Field(sa_column=Column(JSON, nullable=False))
    updated_by: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))


class RangeLine(SQLModel, table=True):
    __tablename__ = "range_line"
    __table_args__ = (
        UniqueConstraint("run_id", "location_id", "product_id", "kind", name="one_range_line_per_cell_and_kind"),
        CheckConstraint("kind IN ('display', 'return', 'markdown')", name="range_line_kind_known"),
        CheckConstraint("quantity > 0", name="range_line_positive"),
    )
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="replenishment_run.id", index=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    kind: str = Field(max_length=12)
    quantity: int
    reason: str = Field(max_length=32)
    detail: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class PolicyCalibration(SQLModel, table=True):
    __tablename__ = "policy_calibration"
    __table_args__ = (
        CheckConstraint("scope IN ('network', 'tier', 'brand')", name="calibration_scope_known"),
        CheckConstraint("target > 0 AND target < 1", name="calibration_target_share"),
        Index("ix_policy_calibration_scope", "scope", "scope_key", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    target: float  # demand served, e.g. 0.96
    scope: str = Field(default="network", max_length=8)
    scope_key: str = Field(default="", max_length=40)  # the tier or brand code; "" for the network
    parameter: str = Field(default="hold_per_kcny", max_length=40)
    value: float
    achieved: float  # demand served by the simulation at `value`
    policy: str = Field(default="ours", max_length=16)
    detail: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
