"""`flask --app wsgi emails send-weekly`: the week's forecast emails, once per recipient (cron, Mondays 08:00
Asia/Shanghai; README "Scheduling"). Refuses to send on a stale forecast or plan, and says why."""
from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from retail.cli.weeks import parse_week
from retail.db import new_session
from retail.emails.batch import send_weekly as run_batch
from retail.emails.smtp import SmtpConfig, SmtpUnavailable
from retail.models import EmailKind
from retail.services import weekly_digest


@click.group(help="The weekly forecast emails.")
def emails():
    pass


@emails.command("send-weekly", help="Send the week's store, brand and planner emails through the outbox: a "
                                    "recipient gets each kind once per week, however often this runs.")
@click.option("--week", default=None, help="ISO week, e.g. 2026-W48 (default: this week, Asia/Shanghai)")
@click.option("--dry-run", is_flag=True, help="render every email and report; send and record nothing")
@click.option("--only", type=click.Choice([k.value for k in EmailKind]), multiple=True,
              help="only these kinds (repeatable; default: all three)")
@click.option("--allow-stale", is_flag=True, help="send even if the week's forecast or plan is missing")
@click.option("--reclaim-after", type=int, default=600, show_default=True,
              help="seconds after which an email claimed by a run that died is sent again by this one")
@click.option("--retries", type=int, default=3, show_default=True, help="retries of a temporary SMTP refusal")
@click.option("--backoff", type=float, default=1.0, show_default=True,
              help="seconds before the first retry (doubling each time)")
@with_appcontext
def send_weekly(week, dry_run, only, allow_stale, reclaim_after, retries, backoff):
    monday = parse_week(week)
    label = weekly_digest.week_label(monday)
    settings = current_app.config["SETTINGS"]
    engine = current_app.extensions["engine"]
    with new_session(engine) as session:
        reason = weekly_digest.stale_reason(session, step="emails", week=monday)
    if reason and not allow_stale:
        raise click.ClickException(f"not sending the emails of week {label}: {reason}")
    if reason:
        click.echo(f"warning: {reason} (sending anyway: --allow-stale)", err=True)
    if not dry_run and settings.smtp_url:
        try:
            click.echo(f"week {label}: sending through {SmtpConfig.from_url(settings.smtp_url).redacted()}")
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    try:
        report = run_batch(engine, settings, week=monday, kinds=only or tuple(EmailKind), dry_run=dry_run,
                           reclaim_after=timedelta(seconds=max(reclaim_after, 0)), retries=max(retries, 0),
                           backoff=max(backoff, 0.0))
    except SmtpUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    if dry_run:
        click.echo(f"dry run, week {label}: {report.rendered} emails rendered for {report.recipients} recipients "
                   f"in {report.seconds} s; nothing sent or recorded")
        return
    click.echo(f"week {label}: {report.recipients} recipients, {report.enqueued} new outbox rows, "
               f"{report.to_send} to send: {report.sent} sent, {report.failed} failed, {report.deferred} deferred, "
               f"{report.skipped} skipped; {report.retries} retries; {report.seconds} s")
    for address, kind, error in report.problems:
        click.echo(f"  {kind} to {address}: {error}", err=True)
    if report.stopped:
        raise click.ClickException(f"stopped early: {report.stopped}; the rest waits for the next run")
    if not report.ok:
        raise click.ClickException("some emails were not sent (see above): failed ones are recorded, deferred ones "
                                   "are retried by the next run")
