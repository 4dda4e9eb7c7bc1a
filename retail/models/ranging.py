"""Ranging (issue 17): what each store stocks, only shows, or does not carry, with effective dates.

`StoreRange` is one store x SKU decision: `stock` (sellable units, order-up-to level from the policy), `show`
(one demo unit on display, sold to order) or `none`. A proposal is written by the weekly ranging job with its
reason and the figures behind it; a planner approves or rejects it (one answer, by a conditional update). An
approved decision is in force from `valid_from` until the next approved decision of the same cell closes it
(`valid_to`, exclusive). The decision in force for a cell on a day is the approved row whose dates hold that day.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["StoreRange"]


class StoreRange(SQLModel, table=True):
    __tablename__ = "store_range"
    __table_args__ = (
        CheckConstraint("decision IN ('stock', 'show', 'none')", name="range_decision_known"),
        CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'superseded')", name="range_status_known"),
        Index("ix_store_range_cell", "location_id", "product_id", "status", "valid_from"),
        Index("ix_store_range_status", "status", "valid_from"),
    )
    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id")
    product_id: int = Field(foreign_key="product.id")
    decision: str = Field(max_length=8)
    previous: str | None = Field(default=None, max_length=8)  # the decision in force when proposed
    status: str = Field(default="proposed", max_length=12)
    reason: str = Field(default="", max_length=32)  # a reason code, worded by retail/messages.py
    valid_from: date
    valid_to: date | None = None  # exclusive; None: open
    weekly_demand: float = 0.0  # the forecast's mean weekly demand behind the decision
    value_stock: float = 0.0  # expected contribution per week of each option, in the store's currency
    value_show: float = 0.0
    proposed_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))
