"""`flask --app wsgi dashboard refresh`: the planners' dashboard's weekly figures (cron, every Monday after
`replenish plan`; safe to re-run: the stored figures are replaced whole, in one transaction)."""
from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from retail.db import new_session
from retail.services import dashboard


@click.group(help="The planners' dashboard.")
def dashboard_group():
    pass


@dashboard_group.command("refresh", help="Recompute the dashboard's 52 weeks of figures and forecast accuracy.")
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD, a Monday (default: after the ledger's last week)")
@click.option("--if-needed", is_flag=True, help="Do nothing when the figures up to that Monday are there (make run).")
@with_appcontext
def refresh(as_of, if_needed):
    day = None
    if as_of:
        try:
            day = date.fromisoformat(as_of)
        except ValueError as exc:
            raise click.BadParameter(f"{as_of!r} is not a date such as 2026-11-23") from exc
        if day.weekday() != 0:
            raise click.BadParameter(f"{as_of} is not a Monday")
    with new_session(current_app.extensions["engine"]) as session, tqdm(total=3, desc="dashboard",
                                                                        disable=None) as bar:
        def progress(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        report = dashboard.refresh(session, as_of=day, progress=progress, if_needed=if_needed)
    if report.get("kept"):
        click.echo(f"dashboard as of {report['as_of']}: already computed, kept")
        return
    click.echo(f"dashboard as of {report['as_of']}: {report['rows']} rows from {report['panel_rows']} store x SKU "
               f"weeks, {report['accuracy_rows']} accuracy rows, {report['seconds']} s")
