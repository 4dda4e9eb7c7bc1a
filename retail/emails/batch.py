"""The weekly batch: every recipient's email of one ISO week, through the outbox, once.

1. the recipients of the kinds asked for (`weekly_digest.recipients`: active, not opted out);
2. their outbox rows, inserted if missing (unique per recipient, kind and week: a re-run adds none);
3. the figures, one bulk load per kind (`weekly_digest.load`), and for each row still to send: claim it
   (by chunks of CLAIM_CHUNK rows, one transaction each), render it, send it over one SMTP session, record
   the outcome at once (one transaction per email: the window between the server's 250 and the record
   stays milliseconds).
A dry run renders every email and writes and sends nothing. Needs an application context.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import structlog
from sqlalchemy import Engine
from tqdm import tqdm

from retail.config import Settings
from retail.db import new_session
from retail.emails.compose import Composer
from retail.emails.smtp import Mailer, Outcome, SmtpConfig, SmtpUnavailable
from retail.models import EmailKind, OutboxStatus
from retail.services import outbox, weekly_digest
from retail.services.weekly_digest import Recipient, week_label

log = structlog.get_logger("retail.emails")
# Rows claimed per transaction. A run killed mid-chunk leaves up to this many rows claimed and unsent: the next
# run sends them once their claim is older than --reclaim-after (the 08:30 cron line, or --reclaim-after 0 at
# once after a crash when no other run is going).
CLAIM_CHUNK = 20


@dataclass
class Report:
    week: str
    dry_run: bool = False
    recipients: int = 0
    enqueued: int = 0  # rows created by this run
    to_send: int = 0  # rows this run found pending (or reclaimed)
    sent: int = 0
    failed: int = 0
    deferred: int = 0  # refused temporarily after the retries: pending for the next run
    skipped: int = 0  # opted out or deactivated since their row was made
    retries: int = 0
    rendered: int = 0
    seconds: float = 0.0
    stopped: str | None = None  # why the batch stopped early (SMTP unreachable, authentication)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (address, kind, error)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.deferred or self.stopped)


class Digests:
    """The figures per kind, loaded once per batch (a brand's once per brand)."""

    def __init__(self, session, week: date, store_ids: list[int]):
        self.session, self.week, self.store_ids = session, week, store_ids
        self._stores = self._planner = None
        self._brands: dict[int, weekly_digest.WeekData] = {}

    def __call__(self, recipient: Recipient):
        if recipient.kind == EmailKind.store:
            if self._stores is None:
                self._stores = weekly_digest.load(self.session, week=self.week, store_ids=self.store_ids)
                self.session.rollback()
            return weekly_digest.store_digest(self._stores, recipient.scope_id)
        if recipient.kind == EmailKind.brand:
            if recipient.scope_id not in self._brands:
                self._brands[recipient.scope_id] = weekly_digest.load(self.session, week=self.week,
                                                                      brand_id=recipient.scope_id)
                self.session.rollback()
            return weekly_digest.brand_digest(self._brands[recipient.scope_id], recipient.scope_id)
        if self._planner is None:
            self._planner = weekly_digest.load(self.session, week=self.week, accuracy=True)
            self.session.rollback()
        return weekly_digest.planner_digest(self._planner)


def send_weekly(engine: Engine, settings: Settings, *, week: date, kinds: Iterable[str] = tuple(EmailKind),
                dry_run: bool = False, reclaim_after: timedelta = timedelta(minutes=10), retries: int = 3,
                backoff: float = 1.0, progress: bool | None = None,
                mailer: Callable[[], Mailer] | None = None) -> Report:
    """Send the week's emails of `kinds`; see the module's docstring. `progress`: tqdm's `disable=None`
    rule (a bar on a terminal, silent under cron) unless True/False."""
    began = time.perf_counter()
    kinds = [str(EmailKind(k)) for k in kinds]
    label = week_label(week)
    report = Report(week=label, dry_run=dry_run)
    composer = Composer(settings)
    with new_session(engine) as session:
        people = weekly_digest.recipients(session, kinds=kinds)
        session.rollback()
        report.recipients = len(people)
        by_user = {(r.user_id, str(r.kind)): r for r in people}
        digests = Digests(session, week, sorted({r.scope_id for r in people if r.kind == EmailKind.store}))
        bar = tqdm(total=len(people), desc=f"emails {label}", unit="email",
                   disable=None if progress is None else not progress)
        if dry_run:
            for r in people:
                composer.message(r, digests(r))
                report.rendered += 1
                bar.update(1)
            bar.close()
            report.seconds = round(time.perf_counter() - began, 2)
            return report
        if not settings.smtp_url:
            raise SmtpUnavailable("SMTP_URL is not set: nowhere to send the emails (use --dry-run to render only)")
        report.enqueued = outbox.enqueue(session, week=label, recipients=people)
        rows = outbox.to_send(session, week=label, kinds=kinds, reclaim_after=reclaim_after)
        report.to_send = len(rows)
        bar.reset(total=len(rows))
        config = SmtpConfig.from_url(settings.smtp_url)
        claimed: set[int] = set()
        with (mailer() if mailer else Mailer(config, retries=retries, backoff=backoff)) as smtp:
            for i, row in enumerate(rows):
                if i % CLAIM_CHUNK == 0:
                    chunk = [r.id for r in rows[i:i + CLAIM_CHUNK]]
                    claimed = outbox.claim_many(session, outbox_ids=chunk, reclaim_after=reclaim_after)
                if row.id not in claimed:
                    bar.update(1)
                    continue  # another run took it
                recipient = by_user.get((row.user_id, row.kind))
                if recipient is None:  # opted out, deactivated or moved since the row was made
                    outbox.record(session, outbox_id=row.id, status=OutboxStatus.skipped,
                                  error="no longer a recipient of this email")
                    report.skipped += 1
                    bar.update(1)
                    continue
                message_id = composer.message_id(label, row.kind, row.id)
                try:
                    message = composer.message(recipient, digests(recipient), message_id=message_id)
                    report.rendered += 1
                    outcome, error = smtp.send(message)
                except SmtpUnavailable as exc:
                    outbox.record(session, outbox_id=row.id, status=OutboxStatus.pending, error=str(exc))
                    report.stopped = str(exc)
                    log.error("emails.stopped", week=label, reason=str(exc))
                    break
                except Exception as exc:  # a bug rendering one email must not stop the others
                    log.exception("emails.render_failed", week=label, outbox_id=row.id)
                    outbox.record(session, outbox_id=row.id, status=OutboxStatus.pending,
                                  error=f"render: {type(exc).__name__}: {exc}")
                    report.deferred += 1
                    report.problems.append((row.address, row.kind, f"render: {type(exc).__name__}"))
                    bar.update(1)
                    continue
                if outcome == Outcome.sent:
                    outbox.record(session, outbox_id=row.id, status=OutboxStatus.sent, message_id=message_id)
                    report.sent += 1
                elif outcome == Outcome.permanent:
                    outbox.record(session, outbox_id=row.id, status=OutboxStatus.failed, error=error)
                    report.failed += 1
                    report.problems.append((row.address, row.kind, error or ""))
                    log.warning("emails.refused", week=label, outbox_id=row.id, error=error)
                else:
                    outbox.record(session, outbox_id=row.id, status=OutboxStatus.pending, error=error)
                    report.deferred += 1
                    report.problems.append((row.address, row.kind, error or ""))
                    log.warning("emails.deferred", week=label, outbox_id=row.id, error=error)
                bar.update(1)
            report.retries = smtp.retried
        bar.close()
    report.seconds = round(time.perf_counter() - began, 2)
    log.info("emails.batch", week=label, kinds=kinds, sent=report.sent, failed=report.failed,
             deferred=report.deferred, skipped=report.skipped, seconds=report.seconds, stopped=bool(report.stopped))
    return report
