"""One typed settings object for the whole service (prefix HAILONG_)."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import sys
from collections.abc import Mapping
from contextlib import suppress
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import get_args
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


# The longest a retention may be: a century is "keep it". A million days made the cut-off
# date overflow, a traceback from `hailong purge` (audit).
MAX_RETENTION_DAYS = 36_500
# The shortest secret key taken: the key signs survey tokens, opt-out hashes and webhook
# secrets, so an empty one (`HAILONG_SECRET_KEY=`, accepted before) let anyone forge them.
# The generated key file holds 64 characters; the tests' key has 35.
MIN_SECRET_LENGTH = 32
MAX_GUESS_LIMIT = 1_000_000
DAY_SECONDS = 86_400
# A Vietnam clock time, HH:MM (the message quiet hours).
_CLOCK_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class Settings(BaseSettings):
    # No inf or nan: "inf" hours overflowed every `now + timedelta(...)`, and nan compares
    # false with every bound. Each duration below has an upper bound for the same reason.
    model_config = SettingsConfigDict(env_prefix="HAILONG_", extra="forbid", allow_inf_nan=False)

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
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=3600)
    # A shipped profile's name (profiles/<name>.toml) or the path of an operator's own file.
    scoring_profile: str = "hcmc-104-2024"
    # A TT 01/2018 profile computed beside it from the same data (`profile=` on the score
    # API), e.g. "tt-01-2018". Its questions join the citizen's questionnaire.
    scoring_profile_also: str | None = None
    # Wrong survey tokens / short codes tolerated per client address and window before 429.
    # At most a million: past 2**63 SQLite cannot bind it, and the first wrong link made
    # every lookup of that address a 500, the right link too (ops audit).
    guess_limit: int = Field(default=20, ge=1, le=MAX_GUESS_LIMIT)
    guess_window_seconds: int = Field(default=600, ge=1, le=7 * DAY_SECONDS)
    # The reverse proxies whose X-Forwarded-For (and -Proto) `hailong serve` believes (CIDRs
    # or addresses, commas): the client address the guess limit counts by is the one they
    # name. Behind a province's proxy on another host, every citizen had the proxy's
    # address, and twenty wrong codes from anyone stopped them all (ops walkthrough).
    trusted_proxies: str = "127.0.0.1,::1"
    log_requests: bool = True
    # Contact details and free text older than this are removed by `hailong purge`.
    retention_days: int = Field(default=730, ge=1, le=MAX_RETENTION_DAYS)
    # Counter kiosks: back to the idle screen after this long without a touch; a pairing
    # code works this many minutes; a handover shows on its counter's tablet while it is
    # this recent (an older unanswered one is not pushed at the next citizen).
    kiosk_idle_seconds: int = Field(default=30, ge=5, le=600)
    kiosk_pairing_minutes: int = Field(default=15, ge=1, le=24 * 60)
    kiosk_present_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Webhooks. Private and loopback targets are refused unless listed here (CIDRs, commas).
    webhook_allow_networks: str = ""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0, le=DAY_SECONDS)
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0, le=7 * DAY_SECONDS)
    # A sending worker holds a delivery for the timeout plus this; if it dies, another
    # worker takes the delivery over after that.
    webhook_lease_margin_seconds: float = Field(default=15.0, ge=1, le=3600)
    webhook_give_up_hours: float = Field(default=26.0, gt=0, le=30 * 24)
    webhook_disable_after_days: float = Field(default=3.0, gt=0, le=365)
    # Deliveries a worker sends at once, each to a different subscription: a receiver that
    # times out holds one of these, never the others' deliveries.
    webhook_concurrency: int = Field(default=8, ge=1, le=64)
    # Delivered (or given up) deliveries, their attempts and fanned-out events are removed
    # by the worker after this long.
    webhook_retention_days: int = Field(default=30, ge=1, le=MAX_RETENTION_DAYS)
    # Encrypts webhook secrets at rest; unset: derived from the signing key.
    webhook_encryption_key: SecretStr | None = None
    # Run the delivery worker inside `hailong serve` (one process per database is plenty
    # on SQLite; on PostgreSQL any number of workers share the work).
    embedded_worker: bool = True
    worker_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # Officials sign in to the console through the province's OpenID Connect provider when
    # the issuer is set (authorization code with PKCE; the client registered there with the
    # redirect URI <base_url>/console/sign-in/oidc/callback).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    # An official's first sign-in binds the provider's account to them only when the ID
    # token says the address is verified (email_verified). false: for a provider that never
    # says (Microsoft Entra ID) and whose addresses its administrators assign.
    oidc_require_email_verified: bool = True
    # The provider's name on the sign-in button ("Đăng nhập bằng <this>").
    oidc_provider_name: str = "tài khoản công vụ"
    # Pasting an API key on the console's sign-in page, for a small office without an
    # identity provider. With one, set false so that only named officials sign in.
    console_key_sign_in: bool = True
    # Origins (scheme://host[:port], commas) whose pages may frame the survey at
    # /embed/s/{token}, such as the province's public-service portal. Empty: nobody may.
    embed_origins: str = ""
    # Invitations by message (README "Invitations by message"). E-mail goes out through
    # this SMTP server when the host is set; unset, no e-mail channel.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    # The sender's address; unset: no-reply@ the host of base_url.
    smtp_from: str | None = None
    # No message is sent between these local (Vietnam) times, HH:MM: it waits for the end.
    message_quiet_start: str = "21:00"
    message_quiet_end: str = "07:00"
    # Messages an agency sends per local day at most; the rest wait for the next day.
    message_daily_cap: int = Field(default=1000, ge=1)
    # A message failing (temporarily) this long after its first attempt is marked failed.
    message_give_up_hours: float = Field(default=24.0, gt=0, le=30 * 24)
    # One reminder this many days after the invitation was sent, if still unanswered.
    message_reminder_days: float = Field(default=3.0, gt=0, le=365)
    # The worker evaluates the alert rules (service/alerts) this often.
    alert_every_seconds: float = Field(default=300.0, ge=1, le=DAY_SECONDS)
    # SMS and Zalo ZNS (service/messaging/channels/providers.py). The SMS provider is the
    # module sms_<name>.py ("esms": eSMS.vn); empty, no SMS. Its account's credentials and
    # brandname; its URL defaults to the provider's documented endpoint (set it to reach a
    # test double or a proxy). A provider half configured stops the start.
    sms_provider: str = ""
    sms_api_key: str | None = None
    sms_secret_key: SecretStr | None = None
    sms_brandname: str | None = None
    sms_url: str | None = None
    # Per request to an SMS or Zalo provider: past it the message is tried again later.
    message_http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Zalo ZNS is on when both the Official Account's access token and an approved template
    # are set; the reminder may use a template of its own. Template parameters are filled
    # from our fields: `<template parameter>=<field>` pairs, the fields among agency_name,
    # dossier_code, link, kind, opt_out_link.
    zalo_url: str = "https://business.openapi.zalo.me/message/template"
    zalo_access_token: SecretStr | None = None
    zalo_template_id: str | None = None
    zalo_reminder_template_id: str | None = None
    zalo_template_params: str = (
        "agency=agency_name,dossier=dossier_code,link=link,opt_out=opt_out_link"
    )

    _signing_key: bytes | None = PrivateAttr(default=None)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        """An http(s) URL with a host: `http://` was taken, and every survey link, QR code
        and slip pointed nowhere."""
        parts = urlsplit(value)
        try:
            port_ok = parts.port is None or parts.port >= 1
        except ValueError:  # not a number, or past 65535
            port_ok = False
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            raise ValueError(
                "HAILONG_BASE_URL must be an http:// or https:// URL with a host (and a port "
                "of 1 to 65535, if any), e.g. https://hailong.example.gov.vn"
            )
        if parts.query or parts.fragment or value.rstrip().endswith(("?", "#")):
            # Links are the base URL and /s/<token>: https://host/?src=qr/s/<token> opened
            # the home page for every citizen (operations audit).
            raise ValueError(
                "HAILONG_BASE_URL must not carry a query (?...) or a fragment (#...): survey "
                "links, QR codes and slips are built by adding /s/<token> to it"
            )
        # The scheme as browsers write it: `HTTPS://…` was accepted and kept, and the
        # console's cookies, deciding Secure on "https://", went without it (audit). The
        # host stays as given: the OpenID provider matches the redirect URI built on it
        # exactly, as registered (review).
        # Rebuilt from its parts: urlsplit drops a stray space or an env file's \r around
        # it, which slicing the value kept ("httpss://…": review).
        rebuilt = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment))
        return rebuilt.rstrip("/")

    @field_validator("message_quiet_start", "message_quiet_end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        """Told in words: pydantic's own refusal quoted its regular expression (ops audit)."""
        if not _CLOCK_TIME.fullmatch(value):
            raise ValueError("write a Vietnam time as HH:MM, from 00:00 to 23:59 (e.g. 21:00)")
        return value

    @field_validator("oidc_scopes")
    @classmethod
    def _asks_for_openid(cls, value: str) -> str:
        """Without `openid` the provider sends no ID token (OpenID Connect Core 3.1.2.1),
        and every official's sign-in failed, each written to the audit log (ops audit)."""
        if "openid" not in value.split():
            raise ValueError(
                "must include openid (space-separated scopes, e.g. 'openid email profile'): "
                "without it the provider sends no ID token and no official can sign in"
            )
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"give at least {MIN_SECRET_LENGTH} characters, e.g. what `python3 -c 'import "
                "secrets; print(secrets.token_urlsafe(48))'` prints"
            )
        return value

    @field_validator("webhook_encryption_key")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        """Set but empty (a compose file's unset `${VAR}`), it was used as the key: every
        webhook secret encrypted under sha256(b""), readable from a database copy alone
        (ops audit). A short key already in use is not refused: its secrets need it."""
        if value is not None and not value.get_secret_value().strip():
            raise ValueError(
                "is set but empty, which encrypts webhook secrets with no key: unset it (the "
                "key is then derived from the signing key) or give one, then create the "
                "webhook subscriptions again, as secrets stored under the empty key cannot "
                "be read under another"
            )
        return value

    @field_validator("secret_key_file")
    @classmethod
    def _key_file_usable(cls, value: Path, info: ValidationInfo) -> Path:
        """Checked at start when it is used (no HAILONG_SECRET_KEY), without creating it: a
        directory, or a file in a missing directory, was a traceback at the first survey
        link; an empty file signed with the empty key."""
        if "secret_key" not in info.data or info.data["secret_key"] is not None:
            return value  # a key is set (or refused on its own line)
        if value.is_dir():
            raise ValueError("is a directory, not a file")
        if not value.exists():
            if not value.parent.is_dir():
                raise ValueError(f"its directory {value.parent} does not exist")
            if not os.access(value.parent, os.W_OK | os.X_OK):
                raise ValueError(f"its directory {value.parent} cannot be written: create the file")
            return value  # created at the first use (`_load_signing_key`)
        try:
            key = value.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
        if len(key) < MIN_SECRET_LENGTH:
            raise ValueError(f"holds no key (at least {MIN_SECRET_LENGTH} characters)")
        return value

    @field_validator("embed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        return ",".join(parse_origins(value))

    @field_validator("webhook_allow_networks", "trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        return ",".join(str(network) for network in parse_networks(value))

    @field_validator("scoring_profile_also")
    @classmethod
    def _no_also(cls, value: str | None) -> str | None:
        """An empty value (HAILONG_SCORING_PROFILE_ALSO=) switches it off."""
        return value.strip() or None if value is not None else None

    @field_validator("oidc_issuer", "sms_url", "zalo_url")
    @classmethod
    def _reachable_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A URL the service will call: an identity provider's, an SMS or Zalo provider's.
        Parsed as the call will: a pasted no-break space or a doubled port was accepted and
        every sign-in was a 500 (audit); `rest.esms.vn/...` without its scheme was taken,
        and every SMS failed at each try until given up, no citizen told (audit)."""
        name = f"HAILONG_{(info.field_name or '').upper()}"
        if value == "" and info.field_name == "sms_url":
            return None  # set empty in an env file: the provider's documented endpoint
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{name} must be an http:// or https:// URL")
        if value:
            try:
                host = httpx.URL(value).host
            except (httpx.InvalidURL, ValueError) as exc:
                raise ValueError(f"{name} is not a URL that can be reached: {exc}") from None
            if not host:
                raise ValueError(f"{name} names no host")
        # Kept as given: an issuer ending in "/" (Auth0's) is that provider's identifier, and
        # its ID tokens carry it so; stripped, none of them could sign anyone in (audit).
        return value or None

    @field_validator("smtp_from")
    @classmethod
    def _sender_address(cls, value: str | None) -> str | None:
        """An address, with a display name or without: a name alone ("Hài lòng UBND") made
        the envelope sender "Hài", which mail servers refuse for good, so every invitation
        e-mail failed (operations audit)."""
        if value is None:
            return None
        address = parseaddr(value)[1]
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ValueError(
                "HAILONG_SMTP_FROM must hold the sender's e-mail address, e.g. "
                "hailong@phuong.gov.vn or 'UBND phường <hailong@phuong.gov.vn>'"
            )
        return value

    @model_validator(mode="after")
    def _links_citizens_can_open(self) -> Settings:
        """Messages configured, the base URL left at its default: every SMS, Zalo message and
        e-mail carried http://127.0.0.1:8000/..., which opens nothing on a citizen's phone
        (reach audit). Set to a loopback address on purpose (a trial, the tests), it stays."""
        channels = [
            name
            for name, on in (
                ("HAILONG_SMTP_HOST", self.smtp_host),
                ("HAILONG_SMS_PROVIDER", self.sms_provider),
                ("HAILONG_ZALO_ACCESS_TOKEN", self.zalo_access_token),
            )
            if on
        ]
        if channels and "base_url" not in self.model_fields_set:
            raise ValueError(
                f"{', '.join(channels)} set: messages go out, yet HAILONG_BASE_URL is not set, "
                f"and every link in them would be {self.base_url}/..., which no citizen's "
                "phone can open; set HAILONG_BASE_URL to the address citizens reach, e.g. "
                "https://hailong.example.gov.vn"
            )
        return self

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
    def embed_origin_list(self) -> list[str]:
        return [origin for origin in self.embed_origins.split(",") if origin]

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
            try:
                _create_key_file(path)
            except OSError as exc:
                # A read-only volume (which access() does not tell root): said of the file the
                # operator named, not of the temporary one it failed on (review).
                raise KeyFileUnwritable(
                    f"HAILONG_SECRET_KEY_FILE {path} does not exist and cannot be created "
                    f"({exc.strerror or exc}): create it with a key of at least "
                    f"{MIN_SECRET_LENGTH} characters, or set HAILONG_SECRET_KEY"
                ) from None
        return path.read_text().strip().encode()


class KeyFileUnwritable(RuntimeError):
    """The signing key's file is missing and cannot be written: the start stops, saying so."""


def _sync_directory(directory: Path) -> None:
    """A new name in `directory` on disk: after a power cut it could be lost, and a new key
    made at the next start voids every survey link handed out."""
    with suppress(OSError):  # a file system that cannot (some network ones): best effort
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _create_key_file(path: Path) -> None:
    """The key file, written whole and readable by its owner only before it has its name:
    the workers of one `serve --workers N` start create it at the same moment, and one
    could read it between another's truncation and its write (the empty key) or each keep
    a key of its own (ops audit). A name taken meanwhile is another process's whole file,
    and that is the key."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
            # On disk before it has its name: after a power cut an empty key file would stop
            # the start, and a new key would void every survey link already handed out.
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if the name exists: never replaces a key
            _sync_directory(path.parent)  # the name on disk too (review)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: renamed whole, if still free
            if not path.exists():
                os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


_ORIGIN = re.compile(r"^https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?$")


def parse_origins(value: str) -> list[str]:
    """`https://a.gov.vn, http://10.0.0.5:8080` -> the origins, lower-cased; anything else
    (a path, a wildcard, a quoted CSP keyword) is refused: it lands in a CSP header."""
    origins = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        origin = entry.lower().removesuffix("/")  # "https://a.gov.vn/" is meant as the origin
        matched = _ORIGIN.match(origin)
        if matched is None or int((matched.group(3) or ":0")[1:]) > 65535:
            raise ValueError(
                f"HAILONG_EMBED_ORIGINS: {entry!r} is not an origin; write scheme://host[:port] "
                "(http or https, no path, no wildcard), several separated by commas"
            )
        scheme, port = origin.split("://", 1)[0], matched.group(3)
        if (scheme, port) in (("https", ":443"), ("http", ":80")):
            # As browsers name it (location.ancestorOrigins): kept with its default port,
            # the frame was allowed but survey-embed.js, comparing the text, told the
            # portal nothing (audit).
            origin = origin.removesuffix(port)
        origins.append(origin)
    return origins


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> list[Network]:
    """`127.0.0.0/8, 10.20.0.0/16` -> the networks (an address alone is a network of one).
    Anything else is refused, naming it: accepted at start, "10.20.0.0/16;10.30.0.0/16" made
    every subscription a 500 and every delivery fail (audit)."""
    networks = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"{entry!r} is not a network; write CIDRs such as 10.20.0.0/16, several "
                "separated by commas"
            ) from None
    return networks


# HAILONG_ names that are not settings of the service: the Python client's (clients/python)
# and the test suite's own switches. Anything else with the prefix is a typo to report.
# The Python client's, the tests', and the container entrypoint's worker count (Dockerfile,
# compose.yaml: every command in the image stopped on it as a misspelt setting; review).
# Exact names: as prefixes, HAILONG_KEY_FILE (for HAILONG_SECRET_KEY_FILE) or
# HAILONG_WORKERS_POLL_SECONDS passed as not settings, and kept the default (ops audit).
NOT_SETTINGS = ("HAILONG_URL", "HAILONG_KEY", "HAILONG_WORKERS")
NOT_SETTINGS_PREFIXES = ("HAILONG_TEST_", "HAILONG_FUZZ_")


def unknown_settings(environ: Mapping[str, str]) -> list[str]:
    """The HAILONG_ variables that name no setting (HAILONG_DB_POOL_SIZ, say)."""
    known = {f"HAILONG_{name.upper()}" for name in Settings.model_fields}
    known.update(NOT_SETTINGS)
    return sorted(
        name
        for name in environ
        if name.upper().startswith("HAILONG_")
        and name.upper() not in known
        and not name.upper().startswith(NOT_SETTINGS_PREFIXES)
    )


def setting_problems(error: ValidationError) -> list[str]:
    """One line per refused value, naming the HAILONG_ variable the operator set (pydantic
    names the field, in a traceback). A secret's value is never shown."""
    lines = []
    for problem in error.errors():
        message = _IN_WORDS.get(problem["type"], problem["msg"].removeprefix("Value error, "))
        if not problem["loc"]:  # a check across settings: its message names them
            lines.append(f"Invalid settings: {message}")
            continue
        field = str(problem["loc"][0])
        info = Settings.model_fields.get(field)
        secret = info is None or SecretStr in (info.annotation, *get_args(info.annotation))
        value = "" if secret or not isinstance(problem["input"], str) else f"={problem['input']}"
        lines.append(f"Invalid setting HAILONG_{field.upper()}{value}: {message}")
    return lines


# Pydantic's refusals that do not say what to write ("unable to interpret input").
_IN_WORDS = {
    "bool_parsing": "write true or false",
    "int_parsing": "write a whole number",
    "float_parsing": "write a number (a dot before decimals, e.g. 0.5)",
}


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, from its environment. A HAILONG_ variable that names
    no setting stops the start: a misspelt setting would otherwise silently keep its
    default."""
    unknown = unknown_settings(os.environ)
    if unknown:
        # Exit 2, what was configured, as for a value out of range: 1 is the database's
        # (README), and a supervisor sent looking for a database fault (audit).
        print(
            f"Unknown setting(s): {', '.join(unknown)}. Check the spelling against the "
            "settings table in README.md, or unset them.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    try:
        return Settings()
    except ValidationError as exc:
        print("\n".join(setting_problems(exc)), file=sys.stderr)
        raise SystemExit(2) from None
