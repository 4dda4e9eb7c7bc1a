"""`flask --app wsgi demo load|stats|export`: the demo world."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from retail.demo import inspect as demo_inspect


@click.group(help="The generated demo world.")
def demo():
    pass


@demo.command(help="Generate the demo world and load it into an empty database (skips if loaded).")
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--stores", "n_stores", default=3000, show_default=True, type=int)
@with_appcontext
def load(seed: int, n_stores: int):
    from retail.demo.generate import generate_world
    from retail.demo.load import AlreadyLoaded, load_world

    engine = current_app.extensions["engine"]
    if demo_inspect.has_locations(engine):
        click.echo("demo world already loaded: nothing to do")
        return
    started = demo_inspect.clock()
    world = generate_world(seed=seed, n_stores=n_stores, progress=True)
    generated = demo_inspect.clock() - started
    try:
        report = load_world(engine, world, progress=True)
    except AlreadyLoaded:
        click.echo("demo world already loaded: nothing to do")
        return
    from datetime import date

    from retail.db import new_session
    from retail.services import agreements, settlement

    with new_session(engine) as session:  # each store's agreement, from its partnership (issue 15)
        made = agreements.default_agreements(session, valid_from=date(2023, 1, 1))
    click.echo(f"{made} store agreements (franchise or consignment, as each store's partnership)")
    with new_session(engine) as session:  # and the last two months' statements
        settled = settlement.settle_recent(session, months=2)
    click.echo("settlement statements: " + (", ".join(f"{r.month:%Y-%m} ({r.issued})" for r in settled) or "none"))
    size = demo_inspect.database_bytes(engine)
    click.echo(f"generated in {generated:.1f} s, loaded {report.movements} movements, "
               f"{report.serial_units} serial units and {report.shipments} shipments in {report.seconds:.1f} s; "
               f"database size {size / 1e6:.1f} MB")
    _print_signins()


def _print_signins() -> None:
    from retail.demo.load import DEMO_PASSWORD

    click.echo(f"demo sign-ins (password {DEMO_PASSWORD}): admin@example.com (admin), planner1@example.com "
               "(planner), s0001.manager@stores.example.com (store manager), s0001.staff1@stores.example.com "
               "(store staff); every store sNNNN has the same two")


@demo.command(help="Print the demo world's sign-ins (only when the demo world is loaded).")
@with_appcontext
def signins():
    if not demo_inspect.has_locations(current_app.extensions["engine"]):
        raise click.ClickException("no demo world here: run `flask --app wsgi demo load` first")
    _print_signins()


@demo.command(help="Print counts of the database's world as JSON.")
@click.option("--json", "as_json", is_flag=True, help="one JSON object on one line")
@with_appcontext
def stats(as_json: bool):
    figures = demo_inspect.stats(current_app.extensions["engine"])
    click.echo(json.dumps(figures, ensure_ascii=False) if as_json else json.dumps(figures, indent=2))


@demo.command(help="Write weekly sales, products and stores as Parquet files into DIR.")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export(directory: Path):
    from retail.services.exports import export_database

    written = export_database(current_app.extensions["engine"], directory)
    for name, rows in written.items():
        click.echo(f"{directory / name}: {rows} rows")
