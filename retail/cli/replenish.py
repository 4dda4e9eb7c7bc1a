"""`flask --app wsgi replenish plan`: suggestions from the latest forecast run (safe to re-run)."""
from __future__ import annotations

from datetime import datetime, time

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from retail.cli.weeks import parse_week
from retail.db import new_session
from retail.services import replenishment, weekly_digest

STEPS = ["read forecast", "positions", "order lines", "transfers", "allocation", "purchases", "store"]


@click.group(help="Replenishment suggestions and orders.")
def replenish():
    pass


@replenish.command(help="Plan this week's suggestions; a plan for the same forecast run and week is not repeated.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None, help="review week (default: forecast start)")
@click.option("--forecast-run", type=int, default=None, help="forecast run id (default: the latest)")
@click.option("--week", default=None, help="the ISO week to plan (YYYY-Www or `current`, Asia/Shanghai): refused "
                                           "unless a forecast run starts on its Monday (cron)")
@with_appcontext
def plan(as_of, forecast_run, week):
    if week is not None:
        monday = parse_week(week)
        with new_session(current_app.extensions["engine"]) as session:
            reason = weekly_digest.stale_reason(session, step="plan", week=monday)
            run = None if reason else weekly_digest.forecast_run_for(session, week=monday)
        if reason:
            raise click.ClickException(f"not planning week {weekly_digest.week_label(monday)}: {reason}")
        as_of, forecast_run = as_of or datetime.combine(monday, time.min), forecast_run or run.id
    with new_session(current_app.extensions["engine"]) as session, tqdm(total=len(STEPS), desc="plan") as bar:
        def step(label):
            bar.set_postfix_str(label)
            bar.update(1)

        run = replenishment.plan(session, as_of=as_of.date() if as_of else None, forecast_run_id=forecast_run,
                                 progress=step)
        bar.update(bar.total - bar.n)
    click.echo(f"replenishment run {run.id} for {run.as_of}: {run.lines} suggested lines, {run.units} units, "
               f"{run.seconds} s")

