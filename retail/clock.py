"""Times: stored in UTC, shown in the store's time zone. The one helper for values a database
returns without their zone (SQLite keeps naive UTC)."""
from __future__ import annotations

from datetime import UTC, datetime


def as_utc(ts: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (naive values are UTC by the ledger's rule)."""
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts
