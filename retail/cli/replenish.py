"""`flask --app wsgi replenish plan`: suggestions from the latest forecast run (safe to re-run)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from retail.db import new_session
from retail.services import replenishment

STEPS = ["read forecast", "positions", "order lines", "transfers", "allocation", "purchases", "store"]


@click.group(help="Replenishment suggestions and orders.")
def replenish():
    pass


@replenish.command(help="Plan this week's suggestions; a plan for the same forecast run and week is not repeated.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None, help="review week (default: forecast start)")
@click.option("--forecast-run", type=int, default=None, help="forecast run id (default: the latest)")
@with_appcontext
def plan(as_of, forecast_run):
    with new_session(current_app.extensions["engine"]) as session, tqdm(total=len(STEPS), desc="plan") as bar:
        def step(label):
            bar.set_postfix_str(label)
            bar.update(1)

        run = replenishment.plan(session, as_of=as_of.date() if as_of else None, forecast_run_id=forecast_run,
                                 progress=step)
        bar.update(bar.total - bar.n)
    click.echo(f"replenishment run {run.id} for {run.as_of}: {run.lines} suggested lines, {run.units} units, "
               f"{run.seconds} s")
