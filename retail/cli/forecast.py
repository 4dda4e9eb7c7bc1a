"""`flask --app wsgi forecast run`: forecast every store x SKU from the ledger and store the run."""
from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from retail.cli.weeks import parse_week
from retail.db import new_session
from retail.services import forecasts, weekly_digest


@click.group(help="Demand forecasts.")
def forecast():
    pass


@forecast.command(help="Forecast from the ledger's weekly sales (skips a start week already forecast).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="first forecast week (a Monday)")
@click.option("--horizon", default=13, show_default=True, type=int)
@click.option("--week", default=None, help="the ISO week to forecast from (YYYY-Www or `current`, Asia/Shanghai): "
                                           "refused when the ledger has no sale since the week before (cron)")
@with_appcontext
def run(start, horizon: int, week: str | None):
    with new_session(current_app.extensions["engine"]) as session:
        start_day: date | None = start.date() if start else None
        if week is not None:
            monday = parse_week(week)
            reason = weekly_digest.stale_reason(session, step="forecast", week=monday)
            if reason:
                raise click.ClickException(f"not forecasting week {weekly_digest.week_label(monday)}: {reason}")
            start_day = start_day or monday
        result = forecasts.run_forecast(session, start=start_day, horizon=horizon, progress=True)
        click.echo(f"forecast run {result.id}: {result.series} series from {result.start_week}, "
                   f"horizon {result.horizon} weeks, {result.seconds} s")

