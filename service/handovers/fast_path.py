"""The hot path of `POST /api/v1/handovers`, below the framework.

Why: every one-stop office calls this at every handover, and FastAPI's machinery around the
endpoint (routing through every route, the dependency solver, validating the body from a
Python dict, re-validating and encoding the answer) cost more CPU than storing the handover
(bench/handover.py). This pure ASGI layer answers only the common case, through the same
parts the route uses: a plain new dossier with a JSON body that validates, from a key in the
key cache with the issuer or admin role, written by the handover writer (batching.py).

Anything else — no or unknown key, a wrong role, an invalid body, a time that check_times
refuses, a dossier posted before, a database error — is passed on, body and all, to the
FastAPI route in router.py, which answers it as it always has (its errors, its 200 for an
update, its documentation in /openapi.json). The route is told the writer has already
declined the handover, so that it goes straight the one-by-one way.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import ServiceError
from service.handovers import service
from service.handovers.batching import HandoverWriter
from service.handovers.schemas import HandoverCreate, HandoverPublic

PATH = "/api/v1/handovers"
# request.state key: the writer has seen this handover and handed it back.
DECLINED = "handover_batch_declined"
# Larger bodies are left to the framework (a real handover is well under 2 KB).
MAX_BODY = 64 * 1024
_HEADERS = [(b"content-type", b"application/json")]
_serialize = HandoverPublic.__pydantic_serializer__.to_json


class _RouteLabel:
    """What ObservabilityMiddleware reads from scope["route"]: the route template."""

    path = PATH


class HandoverFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        body, receive = await _buffered(receive)
        answer = await self._issue(scope, body)
        if answer is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = _RouteLabel
        headers = [*_HEADERS, (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _issue(self, scope: Scope, body: bytes | None) -> bytes | None:
        """The 201 body, or None to let the route answer."""
        state = scope["app"].state
        writer: HandoverWriter | None = getattr(state, "handover_writer", None)
        if writer is None or body is None:
            return None
        headers = _headers(scope)
        if not _is_json(headers.get(b"content-type", b"")):
            return None
        authorization = headers.get(b"authorization")
        # Latin-1, as Starlette reads headers: any bytes decode, to the same key hash.
        principal = state.key_cache.principal_for(authorization and authorization.decode("latin-1"))
        if principal is None or principal.role not in service.ISSUERS:
            return None
        try:
            payload = HandoverCreate.model_validate_json(body)
            service.check_times(payload)
        except (ValidationError, ServiceError):
            return None
        try:
            view = await writer.issue(principal, payload)
        except Exception:  # the route meets the same failure and renders it
            view = None
        if view is None:
            scope.setdefault("state", {})[DECLINED] = True
            return None
        state.metrics.invitations_issued.inc()
        return _serialize(view)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """By lower-case name; of a repeated header the first, as Starlette reads it."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.lower(), value)
    return headers


def _is_json(content_type: bytes) -> bool:
    """What FastAPI parses as JSON: application/json or a +json type, any parameters."""
    media_type = content_type.partition(b";")[0].strip().lower()
    return media_type == b"application/json" or (
        media_type.startswith(b"application/") and media_type.endswith(b"+json")
    )


async def _buffered(receive: Receive) -> tuple[bytes | None, Receive]:
    """The request body (None past MAX_BODY) and a `receive` that hands it out again."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":  # the client went away
            break
        size += len(message.get("body", b""))
        if size > MAX_BODY or not message.get("more_body", False):
            break
    complete = messages[-1]["type"] == "http.request" and not messages[-1].get("more_body")
    body = b"".join(m.get("body", b"") for m in messages) if complete else None

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body, replay
