"""One error hierarchy, rendered by one handler: JSON under /api, a page elsewhere."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException


class ServiceError(Exception):
    status_code = 400
    code = "bad_request"

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


class Unauthorized(ServiceError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class Gone(ServiceError):
    status_code = 410
    code = "gone"


class InvalidInput(ServiceError):
    status_code = 422
    code = "invalid_input"

    def __init__(self, detail: str, fields: list[dict[str, str]]) -> None:
        super().__init__(detail, fields=fields)
        self.fields: list[dict[str, str]] = fields


def field_error(field: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{field}: {problem}", [{"field": field, "problem": problem}])


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "example": "invalid_input"},
        "detail": {"type": "string"},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
            },
        },
    },
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries so every documented route lists the errors it can return."""
    names = {
        401: "No API key, or a key that is unknown or revoked",
        403: "The key's role or agency scope does not allow this",
        404: "No such resource",
        409: "Conflict with the current state",
        410: "No longer available",
        422: "Invalid input; `fields` says which and why",
        429: "Too many requests; see Retry-After",
    }
    return {
        code: {
            "description": names[code],
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for code in codes
    }


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _problem(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "json_invalid":
        return "the body is not valid JSON"
    if kind == "timezone_aware":
        return "needs a time zone offset, e.g. 2025-09-15T10:00:00+07:00"
    if kind == "string_pattern_mismatch":
        return "use only letters, digits, '.', '_', ':' and '-' (no spaces or '/')"
    if kind in ("literal_error", "enum"):
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}" if expected else "is not an allowed value"
    message = str(error.get("msg", "is invalid"))
    return message.removeprefix("Value error, ")


def _holds_nul(params: Any) -> bool:
    """Whether a statement's parameters carry a NUL character, which PostgreSQL text cannot
    hold (psycopg refuses it with a DataError before sending)."""
    if isinstance(params, str):
        return "\x00" in params
    if isinstance(params, dict):
        return any(_holds_nul(value) for value in params.values())
    if isinstance(params, list | tuple):
        return any(_holds_nul(value) for value in params)
    return False


def install_error_handlers(app: FastAPI) -> None:
    def render(request: Request, status: int, body: dict[str, Any], headers: Any) -> Response:
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        return render(request, exc.status_code, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = [
            {"field": _location(tuple(e.get("loc", ()))), "problem": _problem(e)}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{f['field']} {f['problem']}" for f in fields[:3])
        body = {
            "error": "invalid_input",
            "detail": f"The request is invalid: {summary}. Fix these fields and send it again.",
            "fields": fields,
        }
        return render(request, 422, body, None)

    @app.exception_handler(DataError)
    async def _unstorable_value(request: Request, exc: DataError) -> Response:
        if not _holds_nul(exc.params):
            raise exc  # not the client's text: a server error, as before
        body = {
            "error": "invalid_input",
            "detail": "A text value contains the NUL character (\\u0000), which cannot be "
            "stored. Remove it and send the request again.",
        }
        return render(request, 422, body, None)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Nothing is served at {request.url.path}. Check the address."
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
        body = {"error": codes.get(exc.status_code, "http_error"), "detail": detail}
        return render(request, exc.status_code, body, getattr(exc, "headers", None))
