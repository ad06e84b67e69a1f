"""The one error handler: every error a request ends in is answered here, as JSON under
/api (the shape API.md fixes) and as a page everywhere else.

Pages still show the outcomes their people expect as pages of their own (an answered
survey, an unknown agency, a console form refused); what reaches this handler is what no
page foresaw: an address that serves nothing, a parameter FastAPI refused, an uncaught
ServiceError.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as NoFreeConnection
from starlette.exceptions import HTTPException as StarletteHTTPException

from service import db
from service.auth.keys import bearer_key_or_401
from service.db import is_unique_violation
from service.errors import Forbidden, ServiceError, Unauthorized
from service.i18n import CONSOLE_LANG_COOKIE, pick_language
from service.models.access import ROLES
from service.timebounds import DAY_HELP, ISO_HELP
from service.unit_of_work import HEAD_SCOPE_KEY, UnitOfWork
from service.web.deps import takes_key
from service.web.pages import Page, render, render_framed

log = logging.getLogger("hailong.errors")

# The JSON API, and the kiosk tablet's own JSON calls (its script reads their errors).
JSON_PREFIXES = ("/api/", "/kiosk/api/")
ERROR_TEMPLATE = "error.html"
# When a client should send again after the database could not be reached: a restart or a
# failover takes seconds.
UNAVAILABLE_RETRY_SECONDS = 5
# Refusals that pass: the same request, sent again in a moment, goes through.
PASSING = ("service_unavailable", "conflict")
# The survey a portal frames (surveys/embed.py).
EMBED_PREFIX = "/embed/"
# The citizens' forms: the survey (on the phone, in a portal's frame), the follow-up verdict.
CITIZENS_FORMS = ("/s/", EMBED_PREFIX, "/p/")
SAME_MOMENT = "Another request changed the same record at the same moment. Send this request again."


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
        413: "The request body is larger than the service takes",
        422: "Invalid input; `fields` says which and why",
        429: "Too many requests; see Retry-After",
        503: "The database is unreachable or busy for now; send again after Retry-After",
    }
    retry_after = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    return {
        code: {
            "description": names[code],
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
            **({"headers": retry_after} if code in (429, 503) else {}),
        }
        for code in codes
    }


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _field(error: dict[str, Any]) -> str:
    # Malformed JSON's location is the character where parsing stopped, not a field.
    if error.get("type") == "json_invalid":
        return "body"
    return _location(tuple(error.get("loc", ())))


def _problem(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "json_invalid":
        return "is not valid JSON"
    if kind == "timezone_aware":
        return "needs a time zone offset, e.g. 2025-09-15T10:00:00+07:00"
    if kind == "string_pattern_mismatch":
        return "use only letters, digits, '.', '_', ':' and '-' (no spaces or '/')"
    if kind in ("model_attributes_type", "model_type") and tuple(error.get("loc", ())) == ("body",):
        # Said of a JSON object sent under another Content-Type (curl -d's default): the
        # parser's words named no fix (contract audit).
        return "must be a JSON object, sent with the header Content-Type: application/json"
    if kind in ("model_attributes_type", "model_type", "dict_type"):
        # One level down (answers sent as a list, staff as a text), pydantic's "valid
        # dictionary or object to extract fields from" named no fix (audit).
        return "must be a JSON object ({...}), not a list, a text or a number"
    if kind == "string_unicode":
        # A JSON escape of half a character ("\\ud800") in a field that is no free text
        # (free text says it through text_clean.refuse_nul, in the same words).
        return "must not contain half of a character's code (a lone surrogate such as \\ud800)"
    # Written as asked (timebounds checks the form first), but no such day: 30 February
    # was "a valid date or datetime, day value is outside expected range" (audit).
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return f"is not a day on the calendar: {DAY_HELP}"
    if kind in ("datetime_parsing", "datetime_from_date_parsing", "datetime_type"):
        # Only a day or month past its range is "off the calendar": an offset of hours only
        # ("+07") or an hour 25 was said so too, and people looked for a wrong date (audit).
        if "outside expected range" in str(error.get("ctx", {}).get("error", "")):
            return f"is not a day and time on the calendar: {ISO_HELP}"
        return f"is not a time in ISO 8601: {ISO_HELP}"
    if kind in ("literal_error", "enum"):
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}" if expected else "is not an allowed value"
    if kind in ("too_long", "too_short") and isinstance(error.get("input"), str):
        # An optional text's length is checked on its union, after the text's own checks
        # (a lone surrogate or a NUL is named by those: text_clean.Storable), and pydantic
        # words it as a list's: "at most 1000 items after validation" (audit).
        bound = "at most" if kind == "too_long" else "at least"
        limit = error.get("ctx", {}).get("max_length" if kind == "too_long" else "min_length")
        return f"String should have {bound} {limit} character{'' if limit == 1 else 's'}"
    message = str(error.get("msg", "is invalid"))
    return message.removeprefix("Value error, ")


# What FastAPI says of a body its JSON parser gave up on (nested past its depth).
FASTAPI_BODY_UNREADABLE = "There was an error parsing the body"


def _invalid(request: Request, errors: Sequence[Any]) -> Response:
    fields = [{"field": _field(e), "problem": _problem(e)} for e in errors]
    summary = "; ".join(f"{f['field']} {f['problem']}" for f in fields[:3])
    body = {
        "error": "invalid_input",
        "detail": f"The request is invalid: {summary}. Fix these fields and send it again.",
        "fields": fields,
    }
    return respond(request, 422, body, None, fields=sorted({f["field"] for f in fields})[:5])


async def _key_refusal(request: Request) -> ServiceError | None:
    """A keyed API request refused for its input before its route's KeyedWork judged the
    key (a body that was not JSON at all, a refusal of a dependency declared before it):
    401 first when its key is no good, 403 when it is of another role (API.md's order).
    An answer's optional key alike, by any role (review). Checked only when the input is
    refused: a request that passes costs nothing more (a cached key costs no thread)."""
    need = takes_key(request.scope.get("route"))
    authorization = request.headers.get("authorization")
    if need is None or (need == "optional" and not authorization):  # "" is no key too
        return None
    roles = ROLES if need == "optional" else need.roles  # optional: only the key is judged
    try:
        bearer_key_or_401(authorization)  # no key: no database
        await UnitOfWork(request, roles).authorize()
    except (Unauthorized, Forbidden) as refusal:
        return refusal
    except Exception:  # the database unreachable: the input's refusal stands
        log.debug("the key of a refused request was not judged", exc_info=True)
    return None


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


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith(JSON_PREFIXES)


def respond(
    request: Request,
    status: int,
    body: dict[str, Any],
    headers: Mapping[str, str] | None,
    **on_page: Any,
) -> Response:
    """The one place that decides: `body` as JSON for the API, else a page that says it.
    `on_page`: what only the page tells apart (the contract's codes are fewer than what a person
    needs to read), never sent as JSON."""
    if wants_json(request):
        return JSONResponse(body, status_code=status, headers=headers)
    context = {
        "citizens": _on_citizens_form(request),
        **on_page,
        "status": status,
        "code": body["error"],
        "detail": body["detail"],
        "resend": _resend(request, body["error"]),
    }
    page = Page(ERROR_TEMPLATE, context, status, dict(headers or {}))
    # A posted form's own language first (the survey's hidden `lang`: its action has no
    # ?lang=, and an English form met by a 503 was answered in Vietnamese, audit), then the
    # query's, then the console's (a 405 or 404 met there was Vietnamese in English).
    posted = getattr(request.state, "posted_form", None) or {}
    lang = pick_language(
        posted.get("lang"),
        request.query_params.get("lang"),
        request.cookies.get(CONSOLE_LANG_COOKIE),
    )
    if request.url.path.startswith(EMBED_PREFIX):
        # Inside the portal's frame, as the embedded survey's own pages: with the page's
        # usual headers the browser showed a blocked frame and no word (audit).
        return render_framed(request, page, request.app.state.settings.embed_origin_list, lang)
    return render(request, page, lang)


def _resend(request: Request, code: str) -> dict[str, Any] | None:
    """A citizen's posted form that met a passing refusal (the database unreachable, a race
    lost): its fields, for the page to post again as they were."""
    return resend_form(request) if code in PASSING else None


def resend_form(request: Request) -> dict[str, Any] | None:
    """A citizen's posted form, as the page that refuses it for now may post it again: its
    action and fields. The typed answers were gone with the refusal's page, the form page
    being no-store (audit)."""
    fields = getattr(request.state, "posted_form", None)
    if request.method != "POST" or fields is None:
        return None
    if not _on_citizens_form(request):
        return None  # an official's form may hold a pasted API key: not written back
    query = f"?{request.url.query}" if request.url.query else ""
    return {"action": request.url.path + query, "fields": fields}


def _on_citizens_form(request: Request) -> bool:
    return request.url.path.startswith(CITIZENS_FORMS)


def _refused(request: Request, status: int, code: str, detail: str) -> Response:
    return respond(request, status, {"error": code, "detail": detail}, None)


def _busy(request: Request, exc: DBAPIError) -> Response:
    """A lock waited for past the database's lock_timeout, or a statement past its
    statement_timeout: another writer held the row a moment (sent again, it goes through),
    or the request asks for more than the database allows in one statement. It was a 500,
    and the phone form's error page lost what the citizen typed (audit); "cannot reach its
    database" would send an operator to look for an outage that is not there (review)."""
    route = getattr(request.scope.get("route"), "path", "an unknown route")
    log.error(
        "database busy: %s %s stopped at the database's lock or statement timeout, answered 503",
        request.method,
        route,
        exc_info=exc,
    )
    # The page says busy, not the outage 503's "briefly unavailable" (review); a GET sent
    # nothing that could be lost.
    citizens = _on_citizens_form(request)
    body = {"error": "service_unavailable", "detail": _busy_detail(citizens)}
    return respond(
        request,
        503,
        body,
        {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
        busy=True,
        citizens=citizens,
        sent=request.method == "POST",
    )


def _busy_detail(citizens: bool) -> str:
    """To an official, the advice on a large report or export; a citizen asked for none, and
    is told only to send again (review)."""
    again = f"Send it again in {UNAVAILABLE_RETRY_SECONDS} seconds"
    if citizens:
        return f"The database was too busy to finish this request in time. {again}."
    return (
        f"The database was too busy to finish this request in time. {again}; if a large "
        "export or report keeps meeting this, ask for fewer agencies or a shorter period."
    )


def _unavailable(request: Request, exc: Exception) -> Response:
    """The database cannot be reached (down, restarting, every connection busy): not the
    client's doing, and over in seconds. It was a 500 (audit; API.md: never a 500 for
    anything a client sent)."""
    # The route's template, not the path: some paths hold a citizen's token.
    route = getattr(request.scope.get("route"), "path", "an unknown route")
    log.error("database unavailable: %s %s answered 503", request.method, route, exc_info=exc)
    body = {
        "error": "service_unavailable",
        "detail": "The service cannot reach its database at the moment. "
        f"Send the request again in {UNAVAILABLE_RETRY_SECONDS} seconds.",
    }
    return respond(request, 503, body, {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)})


def document_errors(app: FastAPI) -> None:
    """/openapi.json says what `respond` sends: FastAPI documents every 422 it validates as
    its own {"detail": [...]}, which no route sends. Under the JSON prefixes it is the
    contract's error body, elsewhere the error page (audit: a client generated from the
    document failed on the keys API's 422s). Done once, on the whole document, so that a
    new route cannot drift."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = build()
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    answers = operation.get("responses", {})
                    if FASTAPI_422 in str(answers.get("422", "")):
                        answers["422"] = _documented_422(path)
                    if path.startswith(JSON_PREFIXES):
                        # What any of them can meet (contract audit): the database away
                        # (unit_of_work), and a body past MAX_BODY_BYTES (app.LimitedBodies).
                        answers.setdefault("503", error_responses(503)[503])
                        if "requestBody" in operation:
                            answers.setdefault("413", error_responses(413)[413])
            if FASTAPI_422 not in str(schema.get("paths")):
                for name in ("HTTPValidationError", "ValidationError"):
                    schema.get("components", {}).get("schemas", {}).pop(name, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def _documented_422(path: str) -> dict[str, Any]:
    if path == "/api" or path.startswith(JSON_PREFIXES):
        return error_responses(422)[422]
    return {"description": "Invalid input: a page says which", "content": {"text/html": {}}}


def install_error_handlers(app: FastAPI) -> None:
    document_errors(app)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        if exc.status_code == 422 and (refusal := await _key_refusal(request)) is not None:
            exc = refusal
        return respond(request, exc.status_code, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if (refusal := await _key_refusal(request)) is not None:
            return respond(request, refusal.status_code, refusal.body(), refusal.headers)
        return _invalid(request, exc.errors())

    @app.exception_handler(DataError)
    async def _unstorable_value(request: Request, exc: DataError) -> Response:
        if not _holds_nul(exc.params):
            raise exc  # not the client's text: a server error, as before
        # Invalid input names its fields (API.md): a NUL in a path or query parameter
        # reaches no check before the database's (contract audit). A body's are checked
        # before (text_clean.Storable): "body" where none of the others holds it.
        given = {**request.path_params, **request.query_params}
        named = [name for name, value in given.items() if "\x00" in str(value)] or ["body"]
        problem = "contains the NUL character (\\u0000), which cannot be stored"
        return respond(
            request,
            422,
            {
                "error": "invalid_input",
                "detail": f"{named[0]} {problem}: remove it and send the request again.",
                "fields": [{"field": name, "problem": problem} for name in named],
            },
            None,
        )

    @app.exception_handler(IntegrityError)
    async def _lost_race(request: Request, exc: IntegrityError) -> Response:
        if not is_unique_violation(exc):
            raise exc  # a broken rule of our own: a server error
        # Still conflicting after the unit of work was redone (db.in_transaction).
        return _refused(request, 409, "conflict", SAME_MOMENT)

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> Response:
        # Left after the unit of work's redo (db.redone_if_lost): the database unreachable,
        # or the connection broken during the COMMIT, is a 503; a race lost twice, a 409.
        if db.unreachable(exc):
            return _unavailable(request, exc)
        if db.busy(exc):
            return _busy(request, exc)
        if db.lost_a_race(exc):
            return _refused(request, 409, "conflict", SAME_MOMENT)
        raise exc  # a statement of our own the database refused: a server error

    @app.exception_handler(NoFreeConnection)
    async def _no_free_connection(request: Request, exc: NoFreeConnection) -> Response:
        return _unavailable(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_UNREADABLE:
            # JSON nested past the parser's depth: invalid input like any malformed JSON,
            # not a 400 the contract does not have (audit); its key judged first, as for
            # any malformed JSON (review).
            if (refusal := await _key_refusal(request)) is not None:
                return respond(request, refusal.status_code, refusal.body(), refusal.headers)
            return _invalid(request, [{"type": "json_invalid", "loc": ("body",)}])
        codes = {
            404: "not_found",
            405: "method_not_allowed",
            400: "bad_request",
            413: "body_too_large",  # app.LimitedBodies
        }
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and detail == "Not Found":
            # A page says it without the path: a mistyped survey link's holds the citizen's
            # token, one unbreakable word that ran the page sideways on a phone (audit).
            where = request.url.path if wants_json(request) else "this address"
            detail = f"Nothing is served at {where}. Check the address."
        if exc.status_code == 405:
            method = "HEAD" if request.scope.get(HEAD_SCOPE_KEY) else request.method
            detail = f"{method} is not allowed on {request.url.path}."
        body = {"error": codes.get(exc.status_code, "http_error"), "detail": detail}
        return respond(request, exc.status_code, body, getattr(exc, "headers", None))
