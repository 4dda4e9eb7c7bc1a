"""The weekly emails' outbox and the people who opted out of them.

One `EmailOutbox` row per recipient, kind and ISO week (UNIQUE): the batch inserts the week's rows
first, then sends each row still to send and records what happened to it. A second run finds every row
decided and sends nothing; a run killed half way leaves rows still `pending` (or `sending`, claimed by
the dead run) that the next run picks up. `EmailOptOut` holds who does not want the weekly emails (one
row per person: all kinds), written by the signed unsubscribe link or the person's own account page.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["EmailKind", "OutboxStatus", "EmailOutbox", "EmailOptOut"]


class EmailKind(StrEnum):
    store = "store"
    brand = "brand"
    planner = "planner"


class OutboxStatus(StrEnum):
    pending = "pending"  # to send (again: a temporary refusal leaves it pending, `attempts` counting)
    sending = "sending"  # claimed by a run (`claimed_at`); a run that died leaves it for the next to reclaim
    sent = "sent"  # the SMTP server accepted it (250)
    failed = "failed"  # refused for good (5xx): never retried
    skipped = "skipped"  # the recipient opted out, or has nothing to read, after the row was made


class EmailOutbox(SQLModel, table=True):
    __tablename__ = "email_outbox"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "week", name="uq_email_outbox_user_kind_week"),
        CheckConstraint("kind IN ('store', 'brand', 'planner')", name="email_kind_known"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'skipped')", name="outbox_status_known"),
        Index("ix_email_outbox_week_status", "week", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    kind: str = Field(max_length=8)
    week: str = Field(max_length=8)  # ISO week, "2026-W48"
    scope_id: int | None = None  # the store (kind store) or brand (kind brand) the email is about
    address: str = Field(max_length=254)  # where it went: the person's address when the row was made
    status: str = Field(default=OutboxStatus.pending, max_length=8)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=240)  # the SMTP reply, never a credential
    message_id: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))


class EmailOptOut(SQLModel, table=True):
    __tablename__ = "email_opt_out"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    via: str = Field(max_length=8)  # link | account | admin
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
