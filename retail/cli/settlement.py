"""`flask --app wsgi settlement run --month YYYY-MM`: the month's statements (cron, the 1st of each month; safe to
re-run: issued statements never change, a month with nothing new issues nothing). `settlement agreements`
gives stores without an agreement a first version from their partnership (the demo world, older stores)."""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from retail import errors
from retail.db import new_session
from retail.models import utcnow
from retail.services import agreements, settlement


@click.group(help="Agreements and monthly settlement statements.")
def settlement_group():
    pass


def _month(value: str) -> date:
    if value == "last":  # the month before this one in Asia/Shanghai (cron, whatever the host's time zone)
        today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
        return settlement.month_of(today.replace(day=1) - timedelta(days=1))
    try:
        return settlement.parse_month(value)
    except errors.InvalidValue as exc:
        raise click.BadParameter(f"{value!r} is not a month such as 2026-10") from exc


@settlement_group.command("run", help="Issue the month's statements and the adjustments of earlier months.")
@click.option("--month", required=True, help="YYYY-MM, a month that is over, or `last` (cron)")
@with_appcontext
def run(month):
    first = _month(month)
    with new_session(current_app.extensions["engine"]) as session, tqdm(desc=f"statements {month}", unit="store",
                                                                        disable=None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            report = settlement.run_month(session, month=first, progress=progress)
        except errors.MonthNotOver as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{month}: {report.issued} statements issued, {report.adjustments} adjusting statements, "
               f"{report.already} already issued; {report.seconds} s")


@settlement_group.command("agreements", help="Give every store without an agreement a first version.")
@click.option("--from", "valid_from", default="2023-01-01", show_default=True, help="first day (YYYY-MM-DD)")
@with_appcontext
def default_agreements(valid_from):
    try:
        day = date.fromisoformat(valid_from)
    except ValueError as exc:
        raise click.BadParameter(f"{valid_from!r} is not a date such as 2023-01-01") from exc
    with new_session(current_app.extensions["engine"]) as session:
        made = agreements.default_agreements(session, valid_from=day)
    click.echo(f"{made} agreements created")


settlement_group.name = "settlement"
