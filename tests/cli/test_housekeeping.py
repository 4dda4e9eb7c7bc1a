"""`flask housekeeping purge`: one-time form keys older than two days and expired staged POS files go;
newer ones stay; a second run purges nothing (safe to repeat)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from retail.models import ApiResponse, IdempotencyKey, PosStagedFile, utcnow
from retail.services import housekeeping
from tests.factories import small_world


def test_purge_forgets_old_keys_and_staged_files_and_keeps_new_ones(app, session):
    world = small_world(session)
    now, user, store = utcnow(), world["staff"].id, world["a"].id
    session.add_all([
        IdempotencyKey(user_id=user, key="old", fingerprint="f", created_at=now - timedelta(days=3)),
        IdempotencyKey(user_id=user, key="new", fingerprint="f", created_at=now - timedelta(hours=1)),
        PosStagedFile(store_id=store, file_sha256="a" * 64, filename="old.csv", content=b"x",
                      created_at=now - timedelta(days=2)),
        PosStagedFile(store_id=store, file_sha256="b" * 64, filename="new.csv", content=b"x", created_at=now),
        ApiResponse(user_id=user, key="old", fingerprint="f", status=201, body="{}",
                    created_at=now - timedelta(days=3)),
        ApiResponse(user_id=user, key="new", fingerprint="f", status=201, body="{}", created_at=now),
    ])
    session.commit()
    result = app.test_cli_runner().invoke(args=["housekeeping", "purge"])
    assert result.exit_code == 0 and "purged 1 form keys, 1 staged POS files, 1 kept API responses" in result.output, result.output
    assert [k for (k,) in session.execute(select(IdempotencyKey.key))] == ["new"]
    assert [f for (f,) in session.execute(select(PosStagedFile.filename))] == ["new.csv"]
    assert [k for (k,) in session.execute(select(ApiResponse.key))] == ["new"]
    again = housekeeping.purge(session)
    assert (again.keys, again.staged_files) == (0, 0)
    assert session.execute(select(func.count()).select_from(IdempotencyKey)).scalar_one() == 1
