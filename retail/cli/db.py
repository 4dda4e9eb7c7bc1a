"""`flask --app wsgi db upgrade|current`: the schema is only ever built by migrations."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from retail import migrate


@click.group(help="Database schema migrations.")
def db():
    pass


@db.command(help="Apply every migration up to the newest (safe to re-run).")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def upgrade(revision: str):
    migrate.upgrade(current_app.config["SETTINGS"].database_url, revision)
    click.echo(f"database at {migrate.current_revision(current_app.extensions['engine'])}")


@db.command(help="Print the database's migration and the newest one.")
@with_appcontext
def current():
    click.echo(f"current {migrate.current_revision(current_app.extensions['engine'])} head {migrate.head_revision()}")
