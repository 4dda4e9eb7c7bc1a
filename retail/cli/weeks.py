"""The `--week` option of the Monday jobs (forecast run, replenish plan, emails send-weekly)."""
from __future__ import annotations

from datetime import date

import click

from retail.models import utcnow
from retail.services import weekly_digest


def parse_week(value: str | None) -> date:
    """YYYY-Www, or `current` (and nothing): the ISO week of today in Asia/Shanghai. Its Monday."""
    if value in (None, "", "current"):
        return weekly_digest.current_week(utcnow())
    try:
        return weekly_digest.parse_week(value)
    except weekly_digest.InvalidWeek as exc:
        raise click.BadParameter(f"{value!r} is not an ISO week such as 2026-W48 (or `current`)") from exc
