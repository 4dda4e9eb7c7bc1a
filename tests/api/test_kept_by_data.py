"""Stock and forecast pages kept by the data they were read from (retail/api/core.py `data_version`): with
Redis, a page is answered again without a query until a commit writes one of the tables it reads
(retail/changes.py moves their generations in Redis, after the commit), in this process or any other; at
most core.KEPT_SECONDS in any case. Without Redis nothing is kept (tests/api/test_kept_answers.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.engine import make_url

from retail import changes, create_app
from retail.api import core
from retail.config import Settings
from retail.db import new_session
from retail.models import ForecastRun, ForecastSeries, StockBalance
from tests.api.factories import api_world, bearer
from tests.conftest import redis_test_url

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"


@pytest.fixture
def shared(database_url):
    """An app with its rate counts and data generations in Redis, its world, a session and a statement log."""
    redis_url = redis_test_url()
    app = create_app(Settings(env="test", database_url=database_url, redis_url=redis_url))
    session = new_session(app.extensions["engine"])
    world = api_world(session)
    seen: list[str] = []
    event.listen(app.extensions["engine"], "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: seen.append(statement))
    yield app, app.test_client(), world, session, seen
    session.close()
    app.extensions["engine"].dispose()


def _store_stock(client, world) -> dict[str, int]:
    response = client.get(f"{API}/store/stock", headers=bearer(world["keys"]["store"]))
    assert response.status_code == 200, response.json
    return {line["sku"]: line["on_hand"] for line in response.json["data"]}


def _brand_stock(client, world, level: str) -> list[tuple]:
    response = client.get(f"{API}/brand/stock", headers=bearer(world["keys"]["brand"]), query_string={"level": level})
    assert response.status_code == 200, response.json
    return [(row.get("store"), row["sku"], row["on_hand"]) for row in response.json["data"]]


def test_a_kept_stock_page_costs_no_query(shared):
    _app, client, world, _session, seen = shared
    first = (_store_stock(client, world), _brand_stock(client, world, "sku"), _brand_stock(client, world, "store"))
    assert any("stock_balance" in s for s in seen)
    seen.clear()
    again = (_store_stock(client, world), _brand_stock(client, world, "sku"), _brand_stock(client, world, "store"))
    assert again == first
    assert seen == []  # the key is kept too: three answers, no statement


def test_a_sale_through_the_api_is_seen_at_once_by_every_stock_page(shared):
    _app, client, world, _session, _seen = shared
    for _ in range(2):  # kept
        before = (_store_stock(client, world)["RK-CASE"], _brand_stock(client, world, "sku"),
                  _brand_stock(client, world, "store"))
    sold = client.post(f"{API}/store/sales", headers=bearer(world["keys"]["store"]),
                       json={"sales": [{"receipt": "R-KEPT-1", "sku": "RK-CASE", "quantity": 3}]})
    assert sold.status_code == 201, sold.json
    assert _store_stock(client, world)["RK-CASE"] == before[0] - 3
    assert [n for _s, sku, n in _brand_stock(client, world, "sku") if sku == "RK-CASE"] == [
        n - 3 for _s, sku, n in before[1] if sku == "RK-CASE"]
    assert [(s, n) for s, sku, n in _brand_stock(client, world, "store") if sku == "RK-CASE"] == [
        (s, n - 3 if s == "S0001" else n) for s, sku, n in before[2] if sku == "RK-CASE"]


def test_a_refused_sale_renews_nothing(shared):
    _app, client, world, _session, seen = shared
    page = _store_stock(client, world)
    refused = client.post(f"{API}/store/sales", headers=bearer(world["keys"]["store"]),
                          json={"sales": [{"receipt": "R-KEPT-2", "sku": "RK-CASE", "quantity": 999}]})
    assert refused.status_code in (409, 422), refused.json
    seen.clear()
    assert _store_stock(client, world) == page
    assert not any("stock_balance" in s for s in seen)  # rolled back: the kept page still holds


def _respelled(database_url: str) -> str:
    """The same database by another spelling of its URL: `localhost` and no port for 127.0.0.1:5432, a
    SQLite path through `/./`."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        return str(url.set(database=f"{path.parent}/./{path.name}"))
    return url.set(host="localhost" if url.host in ("127.0.0.1", None) else url.host, port=None) \
        .render_as_string(hide_password=False)


@pytest.mark.parametrize("spelling", ["same", "respelled"])
def test_a_receipt_committed_in_another_process_is_seen_at_once(shared, database_url, spelling):
    """Another worker or the command line writes stock: this app hears of it through the generation in
    Redis, read with the rate count, although its page would be kept for KEPT_SECONDS; also when that
    process spells the database's URL otherwise (the generations are named by the database, not the string)."""
    _app, client, world, _session, _seen = shared
    if spelling == "respelled":
        assert _respelled(database_url) != database_url
        database_url = _respelled(database_url)
    for _ in range(2):
        before = _store_stock(client, world)["RK-CASE"]
    script = (
        "from retail import create_app; from retail.config import Settings; from retail.db import new_session\n"
        "from tests.committing import inventory\n"
        f"app = create_app(Settings(env='test', database_url={database_url!r}, redis_url={redis_test_url()!r}))\n"
        "session = new_session(app.extensions['engine'])\n"
        f"inventory.receive_purchase(session, location_id={world['a'].id}, sku='RK-CASE', quantity=5)\n"
        "session.close(); app.extensions['engine'].dispose()\n")
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True)
    assert _store_stock(client, world)["RK-CASE"] == before + 5


def test_a_write_no_session_saw_is_served_within_the_bound(shared, monkeypatch):
    app, client, world, _session, _seen = shared
    before = _store_stock(client, world)["RK-CASE"]
    with app.extensions["engine"].begin() as connection:  # a bulk load's kind of write: no session
        connection.execute(update(StockBalance).where(StockBalance.location_id == world["a"].id,
                                                      StockBalance.product_id == world["case"].id)
                           .values(on_hand=StockBalance.on_hand + 1))
    assert _store_stock(client, world)["RK-CASE"] == before  # kept: nothing announced it
    monkeypatch.setattr(core, "KEPT_SECONDS", 0.5)
    time.sleep(0.6)
    assert _store_stock(client, world)["RK-CASE"] == before + 1


def test_a_new_forecast_run_is_served_at_once(shared):
    _app, client, world, session, seen = shared

    def store_means():
        response = client.get(f"{API}/brand/forecasts", headers=bearer(world["keys"]["brand"]),
                              query_string={"level": "store"})
        assert response.status_code == 200, response.json
        return [(r["store"], r["weeks"][0]["mean"]) for r in response.json["data"]]

    for mean in (2.0, 5.0):
        run = ForecastRun(start_week=date(2026, 11, 9), horizon=1, quantiles=[0.5], dispersion=None)
        session.add(run)
        session.flush()
        session.add(ForecastSeries(run_id=run.id, location_id=world["a"].id, product_id=world["case"].id,
                                   mean=[mean], quantiles={"p50": [int(mean)]}))
        session.commit()
        assert store_means() == [("S0001", mean)]
        seen.clear()
        assert store_means() == [("S0001", mean)]
        assert seen == []  # kept: not even the latest run is read


# ---------------------------------------------------------------- retail.changes itself

@pytest.fixture
def heard(engine):
    calls: list[tuple[str, frozenset]] = []
    changes.on_commit("test", lambda database, tables: calls.append((database, tables)))
    yield calls
    changes._listeners.pop("test", None)


def test_tables_are_announced_after_the_commit_and_forgotten_on_rollback(engine, heard):
    with new_session(engine) as session:
        b = StockBalance.__table__.c
        session.execute(update(StockBalance).where(b.on_hand >= 0).values(on_hand=b.on_hand))
        assert heard == []  # not before the commit
        session.rollback()
        assert heard == []
        session.execute(update(StockBalance).where(b.on_hand >= 0).values(on_hand=b.on_hand))
        session.execute(text("UPDATE location SET code = code WHERE 1 = 0"))
        session.commit()
    assert heard == [(changes.database_name(engine.url), frozenset({"stock_balance", "location"}))]


def test_a_flush_announces_the_tables_of_its_rows(engine, heard):
    with new_session(engine) as session:
        session.add(ForecastRun(start_week=date(2026, 11, 9), horizon=1, quantiles=[0.5], dispersion=None))
        session.commit()
        session.execute(text("SELECT 1"))
        session.commit()  # read only: nothing to announce
    assert heard == [(changes.database_name(engine.url), frozenset({"forecast_run"}))]


def test_schema_qualified_text_dml_names_its_table(engine, heard):
    schema = "public" if engine.dialect.name == "postgresql" else "main"
    with new_session(engine) as session:
        session.execute(text(f'UPDATE "{schema}"."location" SET code = code WHERE 1 = 0'))
        session.execute(text(f"DELETE FROM {schema}.movement WHERE 1 = 0"))
        session.commit()
    assert heard == [(changes.database_name(engine.url), frozenset({"location", "movement"}))]


def test_one_database_has_one_name_however_spelled(tmp_path):
    name = changes.database_name
    assert name("postgresql+psycopg://postgres@127.0.0.1:5432/test") == name("postgresql://app:secret@localhost/test")
    assert name("postgresql://[::1]/test") == name("postgresql://localhost/test")
    assert name("postgresql://localhost/test") != name("postgresql://localhost/other")
    assert name("postgresql://localhost:5433/test") != name("postgresql://localhost/test")
    assert "secret" not in name("postgresql://app:secret@localhost/test")
    assert name(f"sqlite:///{tmp_path}/./retail.db") == name(f"sqlite:///{tmp_path}/retail.db")
    assert name(f"sqlite:///{tmp_path}/a.db") != name(f"sqlite:///{tmp_path}/b.db")
