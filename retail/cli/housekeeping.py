"""`flask --app wsgi housekeeping purge`: forget one-time form keys and staged POS files past their time."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from retail.db import new_session
from retail.services import housekeeping as service


@click.group(help="Daily housekeeping (run from cron; safe to repeat).")
def housekeeping():
    pass


@housekeeping.command(help="Delete one-time form keys and kept API responses older than 2 days, and expired staged POS files.")
@with_appcontext
def purge():
    with new_session(current_app.extensions["engine"]) as session:
        done = service.purge(session)
    click.echo(f"purged {done.keys} form keys, {done.staged_files} staged POS files, "
               f"{done.api_responses} kept API responses")
