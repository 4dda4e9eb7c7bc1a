"""Who changed what: one row per administrative change, written in the caller's transaction."""
from __future__ import annotations

from sqlmodel import Session

from retail.models import AuditLog


def record(session: Session, *, actor_id: int | None, action: str, entity: str, entity_id, detail=None) -> None:
    session.add(AuditLog(actor_id=actor_id, action=action, entity=entity, entity_id=str(entity_id), detail=detail))
