"""The demo world through the project's own commands, on SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import func, select

from retail.db import new_session
from retail.demo.generate import generate_world
from retail.models import Location, Movement, SerialUnit, StockBalance
from retail.services.exports import export_frames

STORES = 25


def test_load_stats_export_and_reload(app, tmp_path):
    runner = app.test_cli_runner()
    upgraded = runner.invoke(args=["db", "upgrade"])  # already at head: a re-run changes nothing
    assert upgraded.exit_code == 0, upgraded.output

    loaded = runner.invoke(args=["demo", "load", "--stores", str(STORES), "--seed", "3"])
    assert loaded.exit_code == 0, loaded.output
    assert "database size" in loaded.output and "demo sign-ins" in loaded.output

    stats = json.loads(runner.invoke(args=["demo", "stats", "--json"]).output)
    world = generate_world(seed=3, n_stores=STORES)
    assert stats["stores"] == STORES and stats["brands"] == len(world.brands) >= 10
    assert stats["brand_codes"] == sorted(world.brands["code"])
    assert stats["skus"] == len(world.products) and stats["users"] == len(world.users)
    sales = world.movements[world.movements["kind"] == "sale"]
    local_year = pd.to_datetime(sales["ts"], utc=True).dt.tz_convert("Asia/Shanghai").dt.year
    assert stats["units_by_year"] == {str(y): int(u) for y, u in (-sales["quantity"]).groupby(local_year).sum().items()}

    again = runner.invoke(args=["demo", "load", "--stores", str(STORES), "--seed", "3"])
    assert again.exit_code == 0 and "already loaded" in again.output
    assert json.loads(runner.invoke(args=["demo", "stats", "--json"]).output) == stats

    exported = runner.invoke(args=["demo", "export", str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    expected = export_frames(world)
    for name in ("sales", "products", "stores"):
        got = pd.read_parquet(tmp_path / "out" / f"{name}.parquet")
        keys = list(got.columns[:3])
        pd.testing.assert_frame_equal(got.sort_values(keys).reset_index(drop=True),
                                      expected[name].sort_values(keys).reset_index(drop=True), check_dtype=False)


def test_loaded_ledger_keeps_its_invariants(app):
    assert app.test_cli_runner().invoke(args=["demo", "load", "--stores", "15", "--seed", "5"]).exit_code == 0
    with new_session(app.extensions["engine"]) as session:
        ledger = {(loc, prod): total for loc, prod, total in session.execute(select(
            Movement.location_id, Movement.product_id, func.sum(Movement.quantity))
            .group_by(Movement.location_id, Movement.product_id)).all()}
        balances = session.execute(select(StockBalance)).scalars().all()
        assert balances and all(b.on_hand >= 0 and b.demo >= 0 and b.in_transit >= 0 for b in balances)
        assert {(b.location_id, b.product_id): b.on_hand for b in balances} == ledger
        # every serialised unit held is a serial unit at that place
        held = {(loc, prod): n for loc, prod, n in session.execute(select(
            SerialUnit.location_id, SerialUnit.product_id, func.count())
            .where(SerialUnit.state == "in_stock").group_by(SerialUnit.location_id, SerialUnit.product_id)).all()}
        assert held
        for b in balances:
            assert held.get((b.location_id, b.product_id), 0) in (0, b.on_hand)
        first_arrival = dict(session.execute(select(Movement.location_id, func.min(Movement.ts))
                                             .where(Movement.quantity > 0).group_by(Movement.location_id)).all())
        first_sale = dict(session.execute(select(Movement.location_id, func.min(Movement.ts))
                                          .where(Movement.kind == "sale").group_by(Movement.location_id)).all())
        assert first_sale and all(first_arrival[loc] < ts for loc, ts in first_sale.items())
        assert session.execute(select(func.count()).select_from(Location)).scalar_one() > 15
