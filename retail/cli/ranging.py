"""`flask --app wsgi ranging ...`: the weekly range proposal and the settings it reads (docs/ranging.md)."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from retail import errors
from retail.db import new_session
from retail.services import ranging

STEPS = ["cells", "decide", "write"]


@click.group(name="ranging", help="Store ranges: stock, show (demo unit, sold to order) or none.")
def ranging_group():
    pass


@ranging_group.command(help="Propose this week's range changes from the latest forecast run; a cell proposed for "
                            "the week is not proposed again (safe to re-run), an open proposal is revised when "
                            "its inputs moved (a calibration, a new forecast run).")
@click.option("--week", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="the week (its Monday, YYYY-MM-DD; default: the forecast run's first week)")
@with_appcontext
def propose(week):
    with new_session(current_app.extensions["engine"]) as session, tqdm(total=len(STEPS), desc="ranging",
                                                                         disable=None) as bar:
        def step(label):
            bar.set_postfix_str(label)
            bar.update(1)

        try:
            done = ranging.propose(session, week=week.date() if week else None, progress=step)
        except errors.DomainError as exc:
            raise click.ClickException(str(exc)) from exc
        bar.update(bar.total - bar.n)
    click.echo(f"range proposal for week {done.week} (forecast run {done.forecast_run_id}): {done.cells} cells, "
               f"{done.changed} changes, {done.written} new proposals, {done.revised} revised and {done.withdrawn} "
               f"withdrawn of this week's open ones, {done.superseded} older ones superseded, {done.seconds} s")
    for name, counts in (("decision", done.by_decision), ("reason", done.by_reason)):
        if counts:
            click.echo(f"  by {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


@ranging_group.command(name="settings", help="The range settings in force (defaults with the planners' changes), "
                                             "as JSON.")
@with_appcontext
def show_settings():
    with new_session(current_app.extensions["engine"]) as session:
        values = ranging.settings(session).values
    click.echo(json.dumps(values, indent=2, ensure_ascii=False))
