"""One-time keys of the requests that write (a form's hidden `idempotency_key`, later the partner API's
`Idempotency-Key` header): recorded in the same transaction as the verb's effect, once per person and
key, so that a retried or doubled request acts once."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["IdempotencyKey", "RequestKey", "REQUEST_KEY"]

# Where an adapter leaves the request's key on the database session (`session.info`) for the verb's
# transaction (`retail.services.verbs.transaction`) to record.
REQUEST_KEY = "retail.request_key"


class RequestKey(NamedTuple):
    user_id: int
    key: str  # as sent: 1 to 64 letters, digits, "-" or "_"
    fingerprint: str  # sha256 of the request without its key: the same key with other content is refused


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_key_user_key"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    key: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
