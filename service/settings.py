"""One typed settings object for the whole service (prefix HAILONG_)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAILONG_", extra="forbid")

    database_url: str = "sqlite:///./hailong.db"
    # Absolute origin citizens reach us at; survey, QR and slip URLs are built from it.
    base_url: str = "http://127.0.0.1:8000"
    # Signs survey tokens. Unset: read (or create once) `secret_key_file`, so a single-node
    # install works out of the box and keeps its links valid across restarts.
    secret_key: SecretStr | None = None
    secret_key_file: Path = Path("hailong.secret")
    invitation_ttl_days: int = Field(default=30, ge=1, le=365)
    db_pool_size: int = Field(default=20, ge=1)
    # Valid API keys are remembered this long per process; a revoked key stops within it.
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    # A shipped profile's name (profiles/<name>.toml) or the path of an operator's own file.
    scoring_profile: str = "hcmc-104-2024"
    # Wrong survey tokens / short codes tolerated per client address and window before 429.
    guess_limit: int = Field(default=20, ge=1)
    guess_window_seconds: int = Field(default=600, ge=1)
    log_requests: bool = True
    # Contact details and free text older than this are removed by `hailong purge`.
    retention_days: int = Field(default=730, ge=1)
    # Counter kiosks: back to the idle screen after this long without a touch; a pairing
    # code works this many minutes; a handover shows on its counter's tablet while it is
    # this recent (an older unanswered one is not pushed at the next citizen).
    kiosk_idle_seconds: int = Field(default=30, ge=5, le=600)
    kiosk_pairing_minutes: int = Field(default=15, ge=1, le=24 * 60)
    kiosk_present_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Webhooks. Private and loopback targets are refused unless listed here (CIDRs, commas).
    webhook_allow_networks: str = ""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0)
    # A sending worker holds a delivery for the timeout plus this; if it dies, another
    # worker takes the delivery over after that.
    webhook_lease_margin_seconds: float = Field(default=15.0, ge=1)
    webhook_give_up_hours: float = Field(default=26.0, gt=0)
    webhook_disable_after_days: float = Field(default=3.0, gt=0)
    # Deliveries a worker sends at once, each to a different subscription: a receiver that
    # times out holds one of these, never the others' deliveries.
    webhook_concurrency: int = Field(default=8, ge=1, le=64)
    # Delivered (or given up) deliveries, their attempts and fanned-out events are removed
    # by the worker after this long.
    webhook_retention_days: int = Field(default=30, ge=1)
    # Encrypts webhook secrets at rest; unset: derived from the signing key.
    webhook_encryption_key: SecretStr | None = None
    # Run the delivery worker inside `hailong serve` (one process per database is plenty
    # on SQLite; on PostgreSQL any number of workers share the work).
    embedded_worker: bool = True
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    # Officials sign in to the console through the province's OpenID Connect provider when
    # the issuer is set (authorization code with PKCE; the client registered there with the
    # redirect URI <base_url>/console/sign-in/oidc/callback).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    # The provider's name on the sign-in button ("Đăng nhập bằng <this>").
    oidc_provider_name: str = "tài khoản công vụ"
    # Pasting an API key on the console's sign-in page, for a small office without an
    # identity provider. With one, set false so that only named officials sign in.
    console_key_sign_in: bool = True

    _signing_key: bytes | None = PrivateAttr(default=None)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("HAILONG_BASE_URL must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("HAILONG_OIDC_ISSUER must be the provider's http(s):// URL")
        return value.rstrip("/") if value else None

    @model_validator(mode="after")
    def _someone_can_sign_in(self) -> Settings:
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("HAILONG_OIDC_ISSUER is set: set HAILONG_OIDC_CLIENT_ID as well")
        if not self.console_key_sign_in and not self.oidc_issuer:
            raise ValueError(
                "HAILONG_CONSOLE_KEY_SIGN_IN is false and no HAILONG_OIDC_ISSUER is set: "
                "nobody could sign in to the console"
            )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def signing_key(self) -> bytes:
        if self._signing_key is None:
            self._signing_key = self._load_signing_key()
        return self._signing_key

    def _load_signing_key(self) -> bytes:
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.secret_key_file
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()


# HAILONG_ names that are not settings of the service: the Python client's (clients/python)
# and the test suite's own switches. Anything else with the prefix is a typo to report.
NOT_SETTINGS = ("HAILONG_URL", "HAILONG_KEY", "HAILONG_TEST_", "HAILONG_FUZZ_")


def unknown_settings(environ: Mapping[str, str]) -> list[str]:
    """The HAILONG_ variables that name no setting (HAILONG_DB_POOL_SIZ, say)."""
    known = {f"HAILONG_{name.upper()}" for name in Settings.model_fields}
    return sorted(
        name
        for name in environ
        if name.upper().startswith("HAILONG_")
        and name.upper() not in known
        and not name.upper().startswith(NOT_SETTINGS)
    )


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, from its environment. A HAILONG_ variable that names
    no setting stops the start: a misspelt setting would otherwise silently keep its
    default."""
    unknown = unknown_settings(os.environ)
    if unknown:
        raise SystemExit(
            f"Unknown setting(s): {', '.join(unknown)}. Check the spelling against the "
            "settings table in README.md, or unset them."
        )
    return Settings()
