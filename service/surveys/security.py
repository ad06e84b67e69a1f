"""Headers every page reached with a survey token carries."""

from __future__ import annotations

from starlette.responses import Response

# No inline script or style, nothing from another origin, never framed, forms post only
# back to us. The token sits in the URL, so it must not leak through Referer or caches.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def harden(response: Response) -> Response:
    response.headers.update(PAGE_HEADERS)
    return response
