"""`flask --app wsgi forecast run`: forecast every store x SKU from the ledger and store the run."""
from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from retail.db import new_session
from retail.services import forecasts


@click.group(help="Demand forecasts.")
def forecast():
    pass


@forecast.command(help="Forecast from the ledger's weekly sales (skips a start week already forecast).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="first forecast week (a Monday)")
@click.option("--horizon", default=13, show_default=True, type=int)
@with_appcontext
def run(start, horizon: int):
    with new_session(current_app.extensions["engine"]) as session:
        start_day: date | None = start.date() if start else None
        result = forecasts.run_forecast(session, start=start_day, horizon=horizon, progress=True)
        click.echo(f"forecast run {result.id}: {result.series} series from {result.start_week}, "
                   f"horizon {result.horizon} weeks, {result.seconds} s")
