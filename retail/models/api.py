"""Keys of the partner and franchise API, and the responses kept for retried requests.

A key belongs to one brand or one store (never both) and acts through that tenant's integration account
(a `User` of role `integration`, without a password): verbs check it like any person, movements and the
audit log name it. Only a SHA-256 of the key's secret is stored (the secret is 32 random bytes: a slow
password hash adds nothing); its public prefix finds the row. A rotated key is revoked and replaced.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["ApiKey", "ApiResponse", "API_SCOPES"]

API_SCOPES = ("read", "write")


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint("(brand_id IS NULL) <> (store_id IS NULL)", name="api_key_one_tenant"),
        CheckConstraint("scopes IN ('read', 'read,write')", name="api_key_scopes_known"),
        CheckConstraint("language IN ('zh_Hans', 'zh_Hant', 'en')", name="api_key_language_known"),
    )
    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=16, unique=True, index=True)
    secret_hash: str = Field(max_length=64)
    name: str = Field(max_length=80)
    brand_id: int | None = Field(default=None, foreign_key="brand.id", index=True)
    store_id: int | None = Field(default=None, foreign_key="location.id", index=True)
    scopes: str = Field(default="read", max_length=16)
    language: str = Field(default="en", max_length=8)
    user_id: int = Field(foreign_key="user.id")  # the tenant's integration account
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=UtcDateTime(nullable=True))
    replaced_by_id: int | None = Field(default=None, foreign_key="api_key.id")


class ApiResponse(SQLModel, table=True):
    """The first response to a POST sent with an `Idempotency-Key`, per tenant account and key: recorded
    in the transaction of its effect, returned again to a retry with the same body."""

    __tablename__ = "api_response"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_api_response_user_key"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    key: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64)
    status: int = 0
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False, index=True))
