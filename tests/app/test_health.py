"""The probes, the configuration rules and the request id."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from retail import create_app
from retail.config import Settings


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_reports_the_migration_on_both_backends(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == "ok" and body["migration"]


def test_readyz_refuses_an_unmigrated_database(tmp_path, capsys):
    app = create_app(Settings(env="test", database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json() == {"status": "unavailable"}
    logged = capsys.readouterr().out
    assert '"migration": null' in logged and '"expected"' in logged  # the detail is in the log only


def test_readyz_refuses_an_unreachable_database_and_tells_only_the_log(capsys):
    app = create_app(Settings(env="test", database_url="postgresql://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json() == {"status": "unavailable"}
    assert "OperationalError" not in response.get_data(as_text=True)  # no exception names to anyone
    logged = capsys.readouterr().out
    assert '"database": "unreachable"' in logged and "OperationalError" in logged


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


REDIS = "redis://127.0.0.1:6379/15"


def test_production_needs_a_secret_key():
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(env="production", secret_key=None, redis_url=REDIS)
    assert Settings(env="production", secret_key="s3cret", redis_url=REDIS).effective_secret_key == "s3cret"


def test_production_refuses_to_start_without_redis(monkeypatch, tmp_path):
    """Per-worker memory limits multiply by the number of workers: production must share them."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(ValidationError, match="REDIS_URL must be set when APP_ENV is production"):
        Settings(env="production", secret_key="s3cret", database_url=f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    with pytest.raises(ValidationError, match="REDIS_URL"):
        create_app()


def test_postgres_urls_use_psycopg3():
    from retail.db import normalise_url

    assert normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(("env", "secure"), [("production", True), ("test", False)])
def test_session_cookie_is_secure_in_production_and_never_readable_by_scripts(tmp_path, env, secure):
    settings = Settings(env=env, secret_key="s3cret", database_url=f"sqlite:///{tmp_path / 'x.db'}", redis_url=REDIS)
    app = create_app(settings)
    cookie = app.test_client().get("/login").headers.get("Set-Cookie", "")
    assert "session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure
    assert Settings(env="production", secret_key="s", cookie_secure=False, redis_url=REDIS).secure_cookies is False
