"""Errors carry the contract's error code, so callers can branch on it."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


@dataclass(eq=False)
class HailongError(Exception):
    """Any error answer. `code` is the contract's snake_case code (`already_answered`...)."""

    status: int
    code: str
    detail: str
    fields: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail}"

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuilt from its fields by keyword, so pickle (a ProcessPoolExecutor's or a task
        queue's worker) and copy.deepcopy give back the same type with the same status, code,
        detail, fields and retry_after. Exception's own rebuilt it as cls(*self.args) with
        args == (): a TypeError, which a process pool reported as BrokenProcessPool (audit).
        The rest of __dict__ (add_note's __notes__, attributes set by callers) is restored
        as state."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        extra = {k: v for k, v in self.__dict__.items() if k not in values}
        return (_rebuild, (type(self), values), extra or None)


class Unauthorized(HailongError):
    """401: no key, or an unknown or revoked key."""


class Forbidden(HailongError):
    """403: the key's role or agency scope does not allow this."""


class NotFound(HailongError):
    """404: unknown agency, survey, webhook or delivery."""


class Conflict(HailongError):
    """409, e.g. `already_answered`, `client_submission_id_reused` (final), or `conflict`: a
    race lost at the server's database, to send again."""


class Gone(HailongError):
    """410: the survey was `revoked` or has `expired`."""


class InvalidInput(HailongError):
    """422: `fields` names each invalid field and the problem with it."""


@dataclass(eq=False)
class RateLimited(HailongError):
    """429 `rate_limited`: wait `retry_after` seconds (None when the server gave no hint)."""

    retry_after: float | None = None


@dataclass(eq=False)
class ServiceUnavailable(HailongError):
    """503 `service_unavailable` (e.g. the service's database is unreachable): send the same
    request again after `retry_after` seconds (None when the server gave no hint)."""

    retry_after: float | None = None


def _rebuild(cls: type[HailongError], values: dict[str, Any]) -> HailongError:
    return cls(**values)


_BY_STATUS: dict[int, type[HailongError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: InvalidInput,
}
# The answers that say when to send the same request again (Retry-After); a 503 raised a
# bare HailongError without it (audit).
_SEND_AGAIN_BY_STATUS: dict[int, type[RateLimited | ServiceUnavailable]] = {
    429: RateLimited,
    503: ServiceUnavailable,
}


def _retry_after(value: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def raise_for_error(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    common: dict[str, Any] = {
        "status": status,
        "code": str(body.get("error", "http_error")),
        "detail": str(body.get("detail", response.text[:200])),
        "fields": list(body.get("fields") or []),
    }
    if status in _SEND_AGAIN_BY_STATUS:
        retry_after = _retry_after(response.headers.get("retry-after"))
        raise _SEND_AGAIN_BY_STATUS[status](**common, retry_after=retry_after)
    raise _BY_STATUS.get(status, HailongError)(**common)
