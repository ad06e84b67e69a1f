"""ETag and Cache-Control for score reads: portals poll, and most polls change nothing.

With the scores, not the portal: the score API (scoring/router.py) and the public pages
(portal/responses.py) answer conditional reads alike."""

from __future__ import annotations

import hashlib
import re

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
    candidates = {t.strip() for t in request.headers.get("if-none-match", "").split(",")}
    if tag in candidates or "*" in candidates:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
