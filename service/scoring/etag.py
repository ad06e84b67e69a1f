"""ETag and Cache-Control for score reads: portals poll, and most polls change nothing.

With the scores, not the portal: the score API (scoring/router.py) and the public pages
(portal/responses.py) answer conditional reads alike."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

# computed_at is when the answer was made, not part of it: two reads of unchanged scores
# must share an ETag.
_COMPUTED_AT = re.compile(rb'"computed_at":"[^"]*"')
CACHE_CONTROL = "private, no-cache"  # cache it, but ask again every time (scores are live)


def etag_of(body: bytes) -> str:
    return 'W/"' + hashlib.sha256(_COMPUTED_AT.sub(b"", body)).hexdigest()[:32] + '"'


def conditional_json(request: Request, model: BaseModel) -> Response:
    body = model.model_dump_json().encode()
    tag = etag_of(body)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    # Compared weakly (RFC 9110 13.1.2): a proxy or client that drops the W/ still matches.
    candidates = {_opaque(t) for t in request.headers.get("if-none-match", "").split(",")}
    if _opaque(tag) in candidates or "*" in candidates:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


# The OpenAPI entries of a route answered by conditional_json (contract audit: a client
# generated from the document took the 304 for an undocumented error).
CONDITIONAL_HEADERS = {
    "ETag": {"schema": {"type": "string"}, "description": "send it back in If-None-Match"},
    "Cache-Control": {"schema": {"type": "string"}},
}
CONDITIONAL: dict[int | str, dict[str, Any]] = {
    200: {"headers": CONDITIONAL_HEADERS},
    304: {
        "description": "Not modified since the ETag sent in If-None-Match",
        "headers": CONDITIONAL_HEADERS,
    },
}
