"""One error hierarchy, each error with its status and code. service/web/errors.py renders
them: JSON under /api, a page elsewhere."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A 400 unless a subclass names its own status and code where it is declared:
    `class Gone(ServiceError, status=410, code="gone"): ...`."""

    status_code = 400
    code = "bad_request"

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.code = code

    def __init__(
        self,
        detail: str,
        *,
        fields: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields
        self.headers = headers

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.detail}
        if self.fields is not None:
            body["fields"] = self.fields
        return body


class Unauthorized(ServiceError, status=401, code="unauthorized"):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ServiceError, status=403, code="forbidden"): ...


class NotFound(ServiceError, status=404, code="not_found"): ...


class Conflict(ServiceError, status=409, code="conflict"): ...


class Gone(ServiceError, status=410, code="gone"): ...


class InvalidInput(ServiceError, status=422, code="invalid_input"):
    def __init__(self, detail: str, fields: list[dict[str, str]]) -> None:
        super().__init__(detail, fields=fields)
        self.fields: list[dict[str, str]] = fields


def field_error(field: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{field}: {problem}", [{"field": field, "problem": problem}])


def storable_field(field: str, text: str) -> str:
    """`text` if it is text the API's input models take (text_clean.refuse_nul), else a
    field error naming why: for what the CLI and the console pass to the services."""
    from service.text_clean import refuse_nul

    try:
        return refuse_nul(text)
    except ValueError as exc:
        raise field_error(field, str(exc)) from None
