"""Errors carry the contract's error code, so callers can branch on it."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx


@dataclass
class HailongError(Exception):
    status: int
    code: str
    detail: str
    fields: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail}"


class Unauthorized(HailongError):
    """401: no key, or an unknown or revoked key."""


class Forbidden(HailongError):
    """403: the key's role or agency scope does not allow this."""


class NotFound(HailongError):
    """404."""


class Conflict(HailongError):
    """409, e.g. already_answered."""


class InvalidInput(HailongError):
    """422: `fields` names each invalid field."""


_BY_STATUS: dict[int, type[HailongError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
}


def raise_for_error(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    error_class = _BY_STATUS.get(response.status_code, HailongError)
    raise error_class(
        status=response.status_code,
        code=str(body.get("error", "http_error")),
        detail=str(body.get("detail", response.text[:200])),
        fields=list(body.get("fields", [])),
    )
