"""Files imported from stores' till (POS) systems: one row per file that landed, so that uploading the
same file again changes nothing; one row per till row that landed (its fingerprint), so that a file that
differs by a byte, or overlaps an earlier one, does not land its rows twice; and the files staged between
their preview and their confirmation (the confirmation form carries only the file's hash)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from retail.models.core import UtcDateTime, utcnow

__all__ = ["PosImport", "PosImportRow", "PosStagedFile"]


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


class PosImportRow(SQLModel, table=True):
    """A till row that landed, by its fingerprint (`pos_import.row_key`: type, SKU, time, quantity, serials,
    receipt). Unique per store: the same row in a later file is reported as already imported, also when
    two files are confirmed at the same moment (the second waits on the index, then skips the row)."""
    __tablename__ = "pos_import_row"
    __table_args__ = (UniqueConstraint("store_id", "row_key", name="uq_pos_import_row_store_key"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="location.id")
    row_key: str = Field(max_length=64)
    import_id: int = Field(foreign_key="pos_import.id", index=True)
    row_number: int


class PosStagedFile(SQLModel, table=True):
    """A file previewed and waiting for its confirmation, kept server-side by store and hash (the uploader
    and the time, to expire it: `pos_import.STAGED_FOR`)."""
    __tablename__ = "pos_staged_file"
    __table_args__ = (Index("ix_pos_staged_file_created_at", "created_at"),)
    store_id: int = Field(foreign_key="location.id", primary_key=True)
    file_sha256: str = Field(max_length=64, primary_key=True)
    filename: str = Field(max_length=255)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploader_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UtcDateTime(nullable=False))
