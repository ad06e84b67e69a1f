"""HTML pages: a `Page` says what to show, `render` sends it with the headers pages carry.

A page's work runs in its unit of work and returns a `Page`; rendering happens after the
commit. The public score pages (portal/rendering.py) render the same `Page` with `html`,
then send it their own cacheable way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from service.i18n import DEFAULT_LANGUAGE, gettext_for, ngettext_for

# No inline script or style, nothing from another origin, never framed (but by the origins
# a page names with `framed_by`), forms post only back to us. Tokens sit in URLs (survey,
# follow-up), so nothing leaks through Referer or caches.
_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
)
CONTENT_SECURITY_POLICY = _CSP.format(ancestors="'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
# A citizen's form refused (a 422, the form again with their answers): kept by their own
# browser only, and checked with us before reuse, so that the back button from the
# thank-you page shows it again instead of the browser's "Confirm form resubmission"
# (net::ERR_CACHE_MISS, audit). It holds what they typed and the token already in its URL,
# nothing more; a form sent again from it meets the survey answered (409, thanks link).
# Every other page stays no-store.
OWN_FORM_REFUSED_HEADERS = {"Cache-Control": "private, no-cache"}


def framed_by(origins: list[str]) -> dict[str, str]:
    """PAGE_HEADERS for a page made to be framed by `origins` (none: by nobody). The CSP
    says who; X-Frame-Options, which knows no list and would win over it, goes."""
    headers = dict(PAGE_HEADERS)
    del headers["X-Frame-Options"]
    headers["Content-Security-Policy"] = _CSP.format(ancestors=" ".join(origins) or "'none'")
    return headers


@dataclass
class Page:
    """What to render, decided inside the unit of work, rendered after it commits."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)  # sent over PAGE_HEADERS
    # When the work decides the language (a survey speaks its invitation's); else the
    # language `render` is given.
    lang: str | None = None


def words(lang: str) -> dict[str, Any]:
    """What every template needs to speak `lang`."""
    return {"lang": lang, "_": gettext_for(lang), "ngettext": ngettext_for(lang)}


def html(request: Request, page: Page, lang: str, **shared: Any) -> str:
    """The page's text; `shared`: context every page of an area has (the page's wins)."""
    context = {**words(lang), **shared, **page.context}
    return str(request.app.state.templates.env.get_template(page.template).render(context))


def render_framed(
    request: Request, page: Page, origins: list[str], lang: str = DEFAULT_LANGUAGE
) -> Response:
    """`page` made to be framed by a portal of `origins` (the embedded survey, its error
    pages too): compact, and told which parent to speak to (survey-embed.js)."""
    page.context.update(embedded=True, parent_origins=" ".join(origins))
    page.headers = {**framed_by(origins), **page.headers}
    return render(request, page, lang, hardened=False)


def render(
    request: Request,
    page: Page,
    lang: str = DEFAULT_LANGUAGE,
    *,
    hardened: bool = True,
    **shared: Any,
) -> Response:
    """`page` in `page.lang`, else `lang`. `hardened`: PAGE_HEADERS first, then the page's."""
    language = page.lang or lang
    response = HTMLResponse(html(request, page, language, **shared), status_code=page.status)
    if hardened:
        response.headers.update(PAGE_HEADERS)
    response.headers.update(page.headers)
    return response
