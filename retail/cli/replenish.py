"""`flask --app wsgi replenish plan`: suggestions from the latest forecast run (safe to re-run), with the policy's
parameter calibrated to a planner's target (`replenish calibrate --target 0.96 [--by tier|brand]`)."""
from __future__ import annotations

from datetime import datetime, time

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from retail import errors
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
    click.echo(policy_line(run.config or {}))


def policy_line(config: dict) -> str:
    """Which target and parameter the plan used."""
    hold = config.get("hold_per_kcny")
    target = config.get("target")
    others = [c for c in config.get("calibrations", []) if c.get("scope") != "network"]
    text = (f"policy: hold_per_kcny {hold} calibrated to demand served >= {target:.1%} (calibration "
            f"{config.get('calibration_id')})" if target is not None else
            f"policy: hold_per_kcny {hold} (no calibration stored: the default)")
    if others:
        text += "; by " + ", ".join(f"{c['scope']} {c['key']}: {c['value']} for {c['target']:.1%}" for c in others)
    if config.get("ranged_cells"):
        text += f"; {config['ranged_cells']} cells follow an approved range"
    return text


@replenish.command(help="Calibrate the policy's parameter to a target of demand served, by simulation on the "
                        "network's last year; the next plan uses it.")
@click.option("--target", type=click.FloatRange(0.5, 0.999), required=True, help="demand served, e.g. 0.96")
@click.option("--by", type=click.Choice(["tier", "brand"]), default=None, help="one parameter per tier or brand "
                                                                                 "(default: one for the network)")
@click.option("--policy", "policy_name", type=click.Choice(["ours", "ranging"]), default="ours", show_default=True,
              help="ours: hold_per_kcny, read by `replenish plan`; ranging: serve_value, read by `ranging propose`")
@click.option("--if-needed", is_flag=True, help="Do nothing when a calibration of this policy and scope to this "
                                                 "target is stored (make run).")
@with_appcontext
def calibrate(target, by, policy_name, if_needed):
    with new_session(current_app.extensions["engine"]) as session, tqdm(total=3, desc="calibrate",
                                                                         disable=None) as bar:
        def step(label):
            bar.set_postfix_str(label)
            bar.update(1)

        try:
            rows = replenishment.calibrate(session, target=target, by=by, policy_name=policy_name,
                                           progress=step, if_needed=if_needed)
        except errors.DomainError as exc:
            raise click.ClickException(str(exc)) from exc
        bar.update(bar.total - bar.n)
        if if_needed and not rows:
            click.echo(f"calibration of {policy_name} to {target:.1%} stored already: nothing to do")
        for row in rows:
            reached = "" if (row.detail or {}).get("reached", True) else " (NOT reached)"
            click.echo(f"calibration {row.id}: {row.scope} {row.scope_key or ''} {row.parameter} {row.value:.6g} "
                       f"serves {row.achieved:.1%} of demand (target {row.target:.1%}){reached}".replace("  ", " "))

