"""What every public page shares: links that keep the language, the words' context, the
profile's numbers the pages print, and rendering in a worker thread.

A public page is a `Page` (service/web/pages.py) made into text by the same `html`; unlike
other pages it is then sent cacheable by anyone, with an ETag (portal/responses.py)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute

from service import numbers
from service.i18n import pick_language
from service.periods import Period
from service.portal import charts, picker
from service.portal.memo import PageMemo
from service.portal.responses import Timing, send
from service.profile import Profile
from service.timebounds import EARLIEST_YEAR, LATEST_YEAR
from service.web.pages import Page, html, words
from service.web.params import LangQuery, OptionalPeriodQuery

Remembered = tuple[PageMemo, tuple[object, ...], object]


def link_maker(lang: str) -> Callable[..., str]:
    """link("/rankings", period="2025-Q3") -> the URL, carrying ?lang=en on English pages."""

    def link(path: str, **params: Any) -> str:
        query = {k: v for k, v in params.items() if v is not None}
        if lang != "vi":
            query["lang"] = lang
        return f"{path}?{urlencode(query)}" if query else path

    return link


def rules_of(profile: Profile) -> dict[str, float | bool]:
    k = profile.k_score
    return {
        **{f"{name}_max": most for name, most in k.maxima().items()},
        "k_max": k.k_max(),
        "threshold": k.satisfied_threshold,
        "threshold_is_satisfied": k.threshold_is_satisfied,
        "g5_max": profile.group5.maximum(),
        "late_days": k.late_zero_after_working_days,
        "b_supplements": k.max_supplement_requests_for_point,
    }


def base_context(request: Request, lang: str, period: Period, profile: Profile) -> dict[str, Any]:
    return {
        **words(lang),
        "link": link_maker(lang),
        "num": lambda value, decimals=2: numbers.number(value, lang, decimals),
        "count": lambda value: picker.count(value, lang),
        "day": lambda value: picker.day(value, lang),
        "gauge": charts.gauge,
        "period": picker.name_of(period),
        "choices": picker.choices(period),
        "rules": rules_of(profile),
        "base_url": request.app.state.settings.base_url,
        "path": request.url.path,
    }


def switch_url(request: Request, lang: str) -> str:
    """The same page in the other language."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if lang == "vi":
        params.append(("lang", "en"))
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


async def render_public(
    request: Request,
    page: Page,
    *,
    kind: str = "page",
    timing: Timing | None = None,
    remembered: Remembered | None = None,
) -> Response:
    """A public page: made by the shared `html` in a worker thread, then sent cacheable by
    anyone (responses.send). `page.context` holds its language (base_context).
    `remembered`: (the memo, the page's key, what it was made from), to reuse a page
    rendered from the very same data (see memo.PageMemo)."""
    lang = page.context["lang"]
    page.context.setdefault("switch_url", switch_url(request, lang))

    def build() -> str:
        return html(request, page, lang)

    body = remembered[0].get(remembered[1], remembered[2]) if remembered else None
    if body is None:
        body = await anyio.to_thread.run_sync(build)
        if remembered and remembered[2] is not None:
            remembered[0].put(remembered[1], remembered[2], body)
    if timing is not None:
        timing.mark("render")
    return send(request, body, lang=lang, kind=kind, status=page.status, timing=timing)


async def problem(
    request: Request, lang: str, kind: str, status: int, code: str | None = None
) -> Response:
    """A page that says what went wrong: unknown agency (404) or a period we cannot read.
    The widget's may be framed as the widget is: an agency site with a typo in its iframe
    showed the browser's refusal instead of this sentence (audit). Framed, its links open
    outside the frame (`framed`), as the widget's do: the pages they open are never framed."""
    framed = request.url.path.startswith("/embed/")
    context = {**words(lang), "link": link_maker(lang), "problem": kind, "code": code}
    # A year of the right form past the range (2101) was told only the form (audit).
    context["years"] = {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
    context["framed"] = framed
    page = Page("portal/problem.html", context, status)
    return await render_public(request, page, kind="embed" if framed else "page")


def period_or_none(text: str | None) -> Period | None:
    try:
        return picker.parse_or_default(text)
    except ValueError:
        return None


class Refused(Exception):
    """A public page that cannot be shown; PublicRoute answers with the `problem` page."""

    def __init__(self, lang: str, kind: str, status: int, code: str | None = None) -> None:
        super().__init__(kind)
        self.lang, self.kind, self.status, self.code = lang, kind, status, code


# Parameters that name an agency: one too long for FastAPI (CodePath, ParentQuery) names
# none, as an unknown code would.
AGENCY_PARAMETERS = ("code", "agency_code", "parent_code")


def refused_parameter(request: Request, error: RequestValidationError) -> Refused | None:
    """What a page would have said of a parameter FastAPI refuses before it runs (longer
    than any period or agency code): that the period is not one (first, as `_asked` reads
    it first), or that no agency has that code. None for any other parameter."""
    names = {str(problem["loc"][-1]) for problem in error.errors() if problem.get("loc")}
    lang = pick_language(request.query_params.get("lang"))
    if "period" in names:
        return Refused(lang, "period", 422)
    for name in AGENCY_PARAMETERS:
        if name in names:
            code = request.path_params.get(name) or request.query_params.get(name)
            return Refused(lang, "agency", 404, code)
    return None


class PublicRoute(APIRoute):
    """A public page's route: a page (or its dependencies) raises Refused, this renders it.
    A parameter FastAPI refuses is refused the same way, not by the shared error page: that
    one may not be framed (the widget's frame showed the browser's refusal; audit)."""

    async def refuse(self, request: Request, refused: Refused) -> Response:
        return await problem(request, refused.lang, refused.kind, refused.status, refused.code)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def refusing(request: Request) -> Response:
            try:
                return await handle(request)
            except Refused as refused:
                return await self.refuse(request, refused)
            except RequestValidationError as error:
                found = refused_parameter(request, error)
                if found is None:
                    raise  # the shared error page (service/web/errors.py)
                return await self.refuse(request, found)

        return refusing


@dataclass(frozen=True)
class Asked:
    """What every public page is asked for, `?lang=` and `?period=`, with the request's
    Timing started. A period we cannot read is refused before the page runs."""

    lang: str
    period: Period
    timing: Timing


async def _asked(period: OptionalPeriodQuery = None, lang: LangQuery = None) -> Asked:
    timing, language = Timing(), pick_language(lang)
    parsed = period_or_none(period)
    if parsed is None:
        raise Refused(language, "period", 422)
    return Asked(language, parsed, timing)


PageAsk = Annotated[Asked, Depends(_asked)]
