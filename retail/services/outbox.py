"""The weekly emails' outbox: once per recipient, kind and ISO week, whatever happens to the batch.

The batch (`retail/emails/batch.py`) first `enqueue`s the week's rows (INSERT ... ON CONFLICT DO NOTHING
on the unique (user, kind, week): a second run adds nothing), then `claim_many`s the rows still to send, 20 at
a time (a conditional UPDATE pending -> sending: two runs never both take a row), sends each, and records the
outcome at once in its own small transaction (`record`): sent, failed (a permanent 5xx refusal), or
back to pending (a temporary refusal: the next run tries again). A run killed half way leaves the rows it
had not reached `pending` and the rest of its chunk `sending`: the next run sends the pending ones and reclaims
`sending` rows whose claim is older than `reclaim_after` (the dead run's; a live run's claim is younger).

The one window no outbox closes: a kill after the SMTP server accepted a message (250) and before its
row was recorded `sent` (a few milliseconds); the reclaimed row is sent again with the same Message-ID.

Opting out (a signed link in every email, or the person's own account page) is a row in `email_opt_out`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from retail.models import EmailOptOut, EmailOutbox, OutboxStatus, User, utcnow
from retail.services.verbs import SELF, job, public, query, transaction, verb
from retail.services.weekly_digest import Recipient

ERROR_LENGTH = 240


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@dataclass(frozen=True)
class Row:
    id: int
    user_id: int
    kind: str
    scope_id: int | None
    address: str
    status: str
    attempts: int


@job
def enqueue(session: Session, *, week: str, recipients: Iterable[Recipient]) -> int:
    """Insert the week's rows that do not exist yet (one per recipient, kind and week); returns how many."""
    rows = [{"user_id": r.user_id, "kind": str(r.kind), "week": week, "scope_id": r.scope_id, "address": r.email,
             "status": OutboxStatus.pending.value, "attempts": 0, "created_at": utcnow()} for r in recipients]
    if not rows:
        return 0
    table = EmailOutbox.__table__
    added = 0
    with transaction(session):
        for lo in range(0, len(rows), 1000):
            result = session.execute(_insert(session)(table).values(rows[lo:lo + 1000]).on_conflict_do_nothing(
                index_elements=["user_id", "kind", "week"]))
            added += max(result.rowcount or 0, 0)
    return added


@job
def to_send(session: Session, *, week: str, kinds: Iterable[str], reclaim_after: timedelta,
            now: datetime | None = None) -> list[Row]:
    """The week's rows still to send: pending, or claimed by a run that stopped before `reclaim_after`."""
    before = (now or utcnow()) - reclaim_after
    o = EmailOutbox.__table__.c
    rows = session.execute(
        select(o.id, o.user_id, o.kind, o.scope_id, o.address, o.status, o.attempts)
        .where(o.week == week, o.kind.in_([str(k) for k in kinds]),
               or_(o.status == OutboxStatus.pending,
                   (o.status == OutboxStatus.sending) & (o.claimed_at < before)))
        .order_by(o.kind, o.id)).all()
    session.rollback()  # end the read: the batch writes row by row
    return [Row(*r) for r in rows]


@job
def claim_many(session: Session, *, outbox_ids: list[int], reclaim_after: timedelta,
               now: datetime | None = None) -> set[int]:
    """Take rows for sending (pending, or a stale claim), a chunk in one transaction (one commit for many);
    returns the ids this run took: a row another run holds is not among them."""
    now = now or utcnow()
    o = EmailOutbox.__table__.c
    with transaction(session):
        taken = session.execute(
            update(EmailOutbox.__table__)
            .where(o.id.in_(list(outbox_ids)),
                   or_(o.status == OutboxStatus.pending,
                       (o.status == OutboxStatus.sending) & (o.claimed_at < now - reclaim_after)))
            .values(status=OutboxStatus.sending.value, claimed_at=now, attempts=o.attempts + 1)
            .returning(o.id)).scalars().all()
    return set(taken)


@job
def record(session: Session, *, outbox_id: int, status: str, error: str | None = None,
           message_id: str | None = None) -> None:
    """What happened to a claimed row: sent, failed (for good), skipped, or pending (try again later)."""
    status = OutboxStatus(status)
    values = {"status": status.value, "last_error": (error or None) and error[:ERROR_LENGTH]}
    if message_id:
        values["message_id"] = message_id[:120]
    if status == OutboxStatus.sent:
        values["sent_at"] = utcnow()
    with transaction(session):
        session.execute(update(EmailOutbox.__table__).where(EmailOutbox.id == outbox_id,
                                                            EmailOutbox.status == OutboxStatus.sending)
                        .values(**values))


@query
def counts(session: Session, *, week: str) -> dict[str, dict[str, int]]:
    """{kind: {status: rows}} of the week."""
    out: dict[str, dict[str, int]] = {}
    for kind, status, n in session.execute(select(EmailOutbox.kind, EmailOutbox.status, func.count())
                                           .where(EmailOutbox.week == week)
                                           .group_by(EmailOutbox.kind, EmailOutbox.status)).all():
        out.setdefault(kind, {})[status] = n
    return out


@query
def problems(session: Session, *, week: str) -> list[tuple[str, str, str, int, str | None]]:
    """(address, kind, status, attempts, last error) of the week's rows that failed or wait for a retry."""
    o = EmailOutbox
    return [tuple(r) for r in session.execute(
        select(o.address, o.kind, o.status, o.attempts, o.last_error)
        .where(o.week == week, or_(o.status == OutboxStatus.failed,
                                   (o.status == OutboxStatus.pending) & (o.attempts > 0)))
        .order_by(o.kind, o.address)).all()]


# ------------------------------------------------------------------------------------------------ opt-out
@query
def opted_out(session: Session, *, user_id: int) -> bool:
    return session.get(EmailOptOut, user_id) is not None


def _set_opt_out(session: Session, user_id: int, enabled: bool, via: str) -> None:
    if enabled:
        session.execute(delete(EmailOptOut).where(EmailOptOut.user_id == user_id))
    else:
        session.execute(_insert(session)(EmailOptOut.__table__).values(user_id=user_id, via=via, created_at=utcnow())
                        .on_conflict_do_nothing(index_elements=["user_id"]))


@public
def unsubscribe(session: Session, *, user_id: int) -> bool:
    """The signed unsubscribe link (the adapter checked its signature): no sign-in. Opting out twice is
    once. False when the person does not exist."""
    with transaction(session):
        if session.get(User, user_id) is None:
            return False
        _set_opt_out(session, user_id, False, "link")
    return True


@verb(SELF)
def set_weekly_email(session: Session, actor: User, *, enabled: bool) -> bool:
    """A signed-in person turns their own weekly email on or off."""
    _set_opt_out(session, actor.id, bool(enabled), "account")
    return bool(enabled)
