"""Settings, read once at start-up from environment variables (see README, "Configuration")."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
INSTANCE_DIR = PROJECT_ROOT / "instance"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    env: str = "development"  # APP_ENV: development | test | production
    database_url: str = f"sqlite:///{INSTANCE_DIR / 'retail.db'}"
    secret_key: SecretStr | None = None
    smtp_url: str | None = None
    # MAIL_FROM: the sender of the weekly emails; PUBLIC_URL: the address people open the site at, for the
    # links in emails (no request to take it from when cron sends them).
    mail_from: str = "Smart glasses forecasts <forecasts@localhost>"
    public_url: str = "http://127.0.0.1:8000"
    redis_url: str | None = None
    # API_RATE_LIMIT: requests per API key (limits' notation: "600/minute", "20/second"); shared by every
    # worker through Redis when REDIS_URL is set.
    api_rate_limit: str = "600/minute"
    # PUBLIC_URL: where people reach this site, for links in emails and API documents.
    public_url: str = "http://127.0.0.1:8000"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True
    # COOKIE_SECURE: send the session cookie over HTTPS only. Default: on in production
    # (behind TLS), off in development and test (plain http://127.0.0.1).
    cookie_secure: bool | None = None
    # TRUSTED_PROXIES: how many reverse proxies stand in front of the app and set X-Forwarded-For/-Proto.
    # 0 (the default) ignores those headers; behind one load balancer set 1, or every client shares its address.
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    # A signed-in session ends after SESSION_IDLE_MINUTES without a request, and SESSION_LIFETIME_HOURS
    # after sign-in whatever happens (shared shop devices).
    session_idle_minutes: int = Field(default=480, ge=1)
    session_lifetime_hours: int = Field(default=12, ge=1)

    @model_validator(mode="after")
    def _secret_required_outside_development(self) -> Settings:
        if self.env not in ("development", "test") and not self.secret_key:
            raise ValueError("SECRET_KEY must be set when APP_ENV is not development or test")
        return self

    @model_validator(mode="after")
    def _redis_required_in_production(self) -> Settings:
        # Without Redis every gunicorn worker counts sign-in attempts on its own: the limits multiply.
        if self.env == "production" and not self.redis_url:
            raise ValueError("REDIS_URL must be set when APP_ENV is production: the sign-in rate limits "
                             "are shared by every worker through Redis (redis://host:6379/0)")
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def effective_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key.get_secret_value()
        return "dev-only-insecure-key"  # development and test only, see the validator


def load_settings(**overrides) -> Settings:
    import os

    values = {}
    if "APP_ENV" in os.environ:
        values["env"] = os.environ["APP_ENV"]
    values.update(overrides)
    return Settings(**values)
