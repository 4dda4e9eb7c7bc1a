"""Command-line adapters: `flask --app wsgi <group> <command>`. Each only parses and calls."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from retail.cli.apikeys import apikeys
    from retail.cli.dashboard import dashboard_group
    from retail.cli.db import db
    from retail.cli.demo import demo
    from retail.cli.emails import emails
    from retail.cli.forecast import forecast
    from retail.cli.housekeeping import housekeeping
    from retail.cli.ranging import ranging_group
    from retail.cli.replenish import replenish
    from retail.cli.settlement import settlement_group

    app.cli.add_command(apikeys)
    app.cli.add_command(dashboard_group)
    app.cli.add_command(db)
    app.cli.add_command(demo)
    app.cli.add_command(emails)
    app.cli.add_command(forecast)
    app.cli.add_command(housekeeping)
    app.cli.add_command(ranging_group)
    app.cli.add_command(replenish)
    app.cli.add_command(settlement_group)
