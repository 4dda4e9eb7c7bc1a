"""Migration 0015 builds the ranging tables exactly as the models declare them, on both backends, and goes down to
0014 and up again."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from retail.migrate import alembic_config

TABLES = {"store_range", "range_setting", "range_line", "policy_calibration"}


def _names(diff) -> set:
    found = set()
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item:
            table = getattr(part, "table", None)
            found.add(getattr(table, "name", None) or getattr(part, "name", None))
    return found


def test_migration_0015_matches_the_models_and_goes_down_and_up(database_url, engine):
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert TABLES <= set(engine.dialect.get_table_names(connection))
    assert [d for d in diffs if _names(d) & TABLES] == []
    engine.dispose()
    command.downgrade(alembic_config(database_url), "0014")
    with engine.connect() as connection:
        assert not TABLES & set(engine.dialect.get_table_names(connection))
    engine.dispose()
    command.upgrade(alembic_config(database_url), "head")
    with engine.connect() as connection:
        assert TABLES <= set(engine.dialect.get_table_names(connection))
