"""How public pages, the widget and the badge are sent: cacheable by anyone for a minute,
revalidated by ETag, gzipped when the client accepts it, under a strict CSP."""

from __future__ import annotations

import gzip
import time

from fastapi import Request
from fastapi.responses import Response

from service.scoring.etag import etag_of

CACHE_CONTROL = "public, max-age=60"
MIN_GZIP_BYTES = 1024
# No script at all, nothing from another origin, forms only back to us.
_PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors {ancestors}"
)
PAGE_CSP = _PAGE_CSP.format(ancestors="'none'")
EMBED_CSP = _PAGE_CSP.format(ancestors="*")  # the widget is made to be framed anywhere
BADGE_CSP = "default-src 'none'; frame-ancestors 'none'"  # an image: it runs nothing


def _headers(kind: str, lang: str) -> dict[str, str]:
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Content-Language": lang,
        "Vary": "Accept-Encoding",
    }
    if kind == "badge":
        headers["Content-Security-Policy"] = BADGE_CSP
        # Shown in <img> on agency websites: other origins may load it.
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    elif kind == "embed":
        headers["Content-Security-Policy"] = EMBED_CSP
    else:
        headers["Content-Security-Policy"] = PAGE_CSP
        headers["X-Frame-Options"] = "DENY"
    return headers


class Timing:
    """Where a request's time went, sent as Server-Timing (db, render, app = the total): the
    benchmark reads it, and so can anyone looking at a slow page in a browser's devtools."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.parts: list[tuple[str, float]] = []

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.parts.append((name, now - self.last))
        self.last = now

    def header(self) -> str:
        total = time.perf_counter() - self.started
        parts = [*self.parts, ("app", total)]
        return ", ".join(f"{name};dur={seconds * 1000:.2f}" for name, seconds in parts)


def send(
    request: Request,
    body: str,
    *,
    lang: str,
    kind: str = "page",
    status: int = 200,
    timing: Timing | None = None,
) -> Response:
    """`kind`: "page", "embed" (frameable) or "badge" (SVG for any origin's <img>)."""
    raw = body.encode()
    headers = _headers(kind, lang)
    media_type = "image/svg+xml" if kind == "badge" else "text/html; charset=utf-8"
    if status == 200:
        tag = etag_of(raw)
        headers["ETag"] = tag
        candidates = {t.strip() for t in request.headers.get("if-none-match", "").split(",")}
        if tag in candidates or "*" in candidates:
            return Response(status_code=304, headers=_timed(headers, timing))
    else:
        headers["Cache-Control"] = "no-cache"
    if len(raw) >= MIN_GZIP_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        raw = gzip.compress(raw, compresslevel=5, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(raw, status_code=status, media_type=media_type, headers=_timed(headers, timing))


def _timed(headers: dict[str, str], timing: Timing | None) -> dict[str, str]:
    if timing is not None:
        headers["Server-Timing"] = timing.header()
    return headers
