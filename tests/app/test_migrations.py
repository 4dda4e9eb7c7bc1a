"""The migrations are the only way the schema is built: on SQLite and PostgreSQL they build exactly what the
models declare (every table, column, index and constraint Alembic compares), and every migration goes down and
up again, so that a release can be rolled back."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import retail.models  # noqa: F401 - registers every table
from retail.migrate import alembic_config


def _differences(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)


def _tables(engine) -> set[str]:
    with engine.connect() as connection:
        return set(engine.dialect.get_table_names(connection)) - {"alembic_version"}


def test_the_migrations_build_what_the_models_declare(engine):
    assert _differences(engine) == []
    assert _tables(engine) == set(SQLModel.metadata.tables)


def test_every_migration_goes_down_and_up_again(engine, database_url):
    config = alembic_config(database_url)
    revisions = list(ScriptDirectory.from_config(config).walk_revisions())  # newest first
    assert len(revisions) >= 16
    seen = [_tables(engine)]
    for revision in revisions:  # one step down at a time: each leaves a schema without its own tables
        engine.dispose()
        command.downgrade(config, revision.down_revision or "base")
        seen.append(_tables(engine))
        assert seen[-1] <= seen[-2], revision.revision
    assert seen[-1] == set()
    engine.dispose()
    command.upgrade(config, "head")
    assert _differences(engine) == [] and _tables(engine) == seen[0]
