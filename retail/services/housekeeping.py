"""Housekeeping: what the tables of one-time records may forget. Run daily by cron
(`flask --app wsgi housekeeping purge`); safe to repeat and to run while the app serves.

- One-time form keys (`IdempotencyKey`) are kept `KEYS_KEPT`: long enough for any retry of a post (a
  phone that lost the network, a reloaded tab), then deleted in batches.
- Kept API responses (`ApiResponse`, the answers to POSTs sent with an `Idempotency-Key`) are kept as long:
  a partner's retry comes within minutes or hours; after two days the same key acts as a new request.
- Staged POS files expire after `pos_import.STAGED_FOR`; a preview or confirmation deletes them too, this
  catches the stores that never come back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session

from retail.models import ApiResponse, IdempotencyKey, PosStagedFile, utcnow
from retail.services import pos_import
from retail.services.verbs import job

KEYS_KEPT = timedelta(days=2)


@dataclass(frozen=True)
class Purged:
    keys: int
    staged_files: int
    api_responses: int = 0


def _purge(session: Session, model, column, before: datetime) -> int:
    """Delete the rows older than `before`, in one short transaction."""
    try:
        purged = session.execute(delete(model).where(column < before)).rowcount
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return purged


@job
def purge(session: Session, *, now: datetime | None = None) -> Purged:
    now = now or utcnow()
    keys = _purge(session, IdempotencyKey, IdempotencyKey.created_at, now - KEYS_KEPT)
    staged = _purge(session, PosStagedFile, PosStagedFile.created_at, now - pos_import.STAGED_FOR)
    responses = _purge(session, ApiResponse, ApiResponse.created_at, now - KEYS_KEPT)
    return Purged(keys=keys, staged_files=staged, api_responses=responses)
