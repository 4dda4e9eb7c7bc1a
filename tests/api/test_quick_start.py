"""docs/api.md's five-minute quick start, run as written (the shell block, literally) against the demo world under
gunicorn: every curl must answer 2xx (`curl -f`), so a quick start that names a SKU the world does not have, or a
flag the CLI lost, fails here and not in a partner's terminal. The demo world is the generator's (8 stores, seed
5), forecast by the project's own command, as `make run` does with 3,000."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from retail import create_app
from retail.config import Settings
from tests.api.live import gunicorn

ROOT = Path(__file__).resolve().parents[2]


def quick_start() -> str:
    doc = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = doc.split("## Five-minute quick start", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "docs/api.md: the quick start's shell block is missing"
    return match.group(1)


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory, sqlite_template):
    path = tmp_path_factory.mktemp("quick-start") / "demo.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    app = create_app(Settings(env="test", database_url=url))
    runner = app.test_cli_runner()
    for args in (["demo", "load", "--stores", "8", "--seed", "5"], ["forecast", "run"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output)
    app.extensions["engine"].dispose()
    return url


def test_the_quick_start_runs_as_written(demo_world, tmp_path):
    script = quick_start()
    assert "curl -s " in script and "http://127.0.0.1:8000" in script
    with gunicorn(demo_world, tmp_path / "gunicorn.log") as base:
        runnable = (script.replace("http://127.0.0.1:8000", base)
                    .replace("curl -s ", "curl -sS -f ")  # an HTTP error fails the step
                    .replace(".venv/bin/", f"{Path(sys.executable).parent}/"))
        env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": demo_world, "APP_ENV": "test", "LOG_LEVEL": "WARNING",
               "HOME": str(tmp_path)}
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", runnable], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    out = done.stdout
    assert '"tenant": "store"' in out and '"sku": "RK-' in out and '"weeks": [' in out, out[-2000:]  # me, products,
    engine = create_engine(demo_world)  # forecasts
    with engine.connect() as connection:
        sales = connection.execute(text(
            "SELECT m.id, l.code FROM movement m JOIN location l ON l.id = m.location_id "
            "WHERE m.kind = 'sale' AND m.reference = 'R-0001'")).all()
        assert [code for _id, code in sales] == ["S0001"]  # one sale, at the key's store
        (state,) = connection.execute(text(
            "SELECT u.state FROM movement_serial s JOIN serial_unit u ON u.serial = s.serial "
            "WHERE s.movement_id = :id"), {"id": sales[0][0]}).one()
        assert state == "sold"
    engine.dispose()
