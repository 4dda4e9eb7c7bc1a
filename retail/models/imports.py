"""Files imported from stores' till (POS) systems: one row per file that landed, so that
uploading the same file again changes nothing."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["PosImport"]


class PosImport(SQLModel, table=True):
    __tablename__ = "pos_import"
    __table_args__ = (UniqueConstraint("store_id", "file_sha256", name="uq_pos_import_store_file"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="location.id", index=True)
    file_sha256: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    rows: int
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
