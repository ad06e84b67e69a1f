"""Public score pages (no key): the ranking, an agency's page, the widget and the badge.

Each request reads the counters in one unit of work, then renders in a worker thread so a
300-row page never blocks the event loop. Vietnamese unless `?lang=en`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.types import DecoratedCallable
from markupsafe import Markup
from sqlmodel import Session

from service import numbers
from service.i18n import pick_language
from service.periods import Period
from service.portal import badge, cells, charts, picker, trend_chart, views
from service.portal.memo import memo_of, pages_of
from service.portal.rendering import (
    PageAsk,
    PublicRoute,
    Refused,
    base_context,
    period_or_none,
    render_public,
)
from service.portal.responses import Timing
from service.scoring.service import Scored
from service.web.deps import PublicWork
from service.web.pages import Page, words
from service.web.params import CodePath, LangQuery, OptionalPeriodQuery, ParentQuery

# A page raises Refused (unknown agency, unreadable period): its route renders the problem page.
router = APIRouter(tags=["public pages"], route_class=PublicRoute)


def documented_errors(media: str) -> dict[int | str, dict[str, Any]]:
    """404 and 422 come as a page (or a badge) that says what is wrong, also for a code or
    a period too long for FastAPI's own validation (PublicRoute)."""
    return {
        404: {"description": "No agency has that code", "content": {media: {}}},
        422: {"description": "A period that is not one: a page says so", "content": {media: {}}},
    }


PAGE_ERRORS = documented_errors("text/html")


def _page(path: str, summary: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    return router.get(path, summary=summary, response_class=HTMLResponse, responses=PAGE_ERRORS)


@_page("/rankings", "Public ranking of a parent's agencies")
async def rankings_page(
    request: Request,
    work: PublicWork,
    asked: PageAsk,
    parent_code: ParentQuery = None,
    # No length limit: any value not among them ranks by K, a long one too (it was a 422
    # page in pydantic's English, where a short unknown one was ignored; audit).
    sort: Annotated[str | None, Query(description="k|name|a|b|c|d|e|g5|n")] = None,
) -> Response:
    language, parsed = asked.lang, asked.period
    order = sort if sort in views.SORTS else "k"
    memo = memo_of(request)

    def read(session: Session) -> views.RankingView | None:
        return views.ranking(session, parent_code, parsed, memo)

    view = await work.run(read)
    asked.timing.mark("db")
    if view is None:
        raise Refused(language, "agency", 404, parent_code)
    context = base_context(request, language, parsed, work.profile)
    rules = context["rules"]

    def rows_html(rows: list[views.RankingRow], words: dict[str, str]) -> Markup:
        return cells.rows_html(
            rows,
            words,
            lang=language,
            link=context["link"],
            period_key=parsed.key,
            k_max=float(rules["k_max"]),
            threshold=float(rules["threshold"]),
        )

    rows = views.sort_rows(view.rows, order)
    tally = Counter(row.computed.group for row in rows)
    context.update(view=view, rows=rows, sort=order, rows_html=rows_html, tally=tally)
    # The page depends on the URL, the local day (the period picker) and the data.
    key = (request.url.path, request.url.query, picker.today_local())
    return await render_public(
        request,
        Page("portal/rankings.html", context),
        timing=asked.timing,
        remembered=(pages_of(request), key, view.source),
    )


@_page("/agencies/{code}", "Public page of one agency's scores")
async def agency_page(
    request: Request, code: CodePath, work: PublicWork, asked: PageAsk
) -> Response:
    language, parsed = asked.lang, asked.period
    today = picker.today_local()
    memo = memo_of(request)

    def read(session: Session) -> views.AgencyView | None:
        return views.agency_page(session, code, parsed, memo, today)

    view = await work.run(read)
    asked.timing.mark("db")
    if view is None:
        raise Refused(language, "agency", 404, code)
    context = base_context(request, language, parsed, work.profile)
    context.update(
        view=view,
        score=view.score,
        exact=view.computed,  # the figures printed (views.py)
        line_chart=charts.line_chart,
        bar_chart=charts.bar_chart,
        trend_line=lambda points: trend_chart.line_points(points, language),
        trend_bars=lambda points: trend_chart.bar_points(points, language),
        trend_floor=lambda points: trend_chart.y_floor(
            points, work.profile.k_score.satisfied_threshold
        ),
        trend_summary=trend_chart.summary,
        has_data=trend_chart.has_data,
        period_of=picker.name_of,
    )
    return await render_public(request, Page("portal/agency.html", context), timing=asked.timing)


@_page("/embed/agencies/{code}", "Widget for an agency's website (iframe)")
async def embed_widget(
    request: Request, code: CodePath, work: PublicWork, asked: PageAsk
) -> Response:
    memo = memo_of(request)
    found = await work.run(lambda session: views.one_score(session, code, asked.period, memo))
    asked.timing.mark("db")
    if found is None:
        raise Refused(asked.lang, "agency", 404, code)
    context = base_context(request, asked.lang, asked.period, work.profile)
    # `exact`: the figures printed (views.py).
    context.update(score=found.score, exact=found.computed, switch_url=None)
    page = Page("portal/embed.html", context)
    return await render_public(request, page, kind="embed", timing=asked.timing)


async def badge_svg(
    request: Request,
    agency_code: CodePath,
    work: PublicWork,
    period: OptionalPeriodQuery = None,
    lang: LangQuery = None,
) -> Response:
    # Not refused as a page: a period we cannot read (422) or an unknown agency (404) is a
    # badge that says so.
    timing = Timing()
    language = pick_language(lang)
    parsed = period_or_none(period)
    found = None
    if parsed is not None:
        memo = memo_of(request)
        found = await work.run(lambda session: views.one_score(session, agency_code, parsed, memo))
        timing.mark("db")
    return await _badge(request, language, parsed, found, timing)


async def _badge(
    request: Request,
    language: str,
    parsed: Period | None,
    found: Scored | None,
    timing: Timing,
) -> Response:
    context = {
        **words(language),
        "num": lambda value, decimals=2: numbers.number(value, language, decimals),
        "layout": badge.layout,
        "score": found.score if found else None,
        "exact": found.computed if found else None,  # the figures printed (views.py)
        "period": picker.name_of(parsed) if parsed else None,
        "switch_url": None,
    }
    status = 200 if found is not None else (404 if parsed is not None else 422)
    page = Page("portal/badge_svg.html", context, status)
    return await render_public(request, page, kind="badge", timing=timing)


class BadgeRoute(PublicRoute):
    """The badge's route: what it refuses before it runs (a code or a period too long) is a
    badge that says so too, as an <img> shows no page."""

    async def refuse(self, request: Request, refused: Refused) -> Response:
        # A period refused is no period, even one that reads as one trimmed (a 404 "no such
        # agency" for one that exists; review).
        asked = request.query_params.get("period")
        parsed = None if refused.kind == "period" else period_or_none(asked)
        return await _badge(request, refused.lang, parsed, None, Timing())


router.add_api_route(
    "/badge/{agency_code}.svg",
    badge_svg,
    methods=["GET"],
    summary="SVG badge (K and group) for <img> on any website",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **documented_errors("image/svg+xml")},
    route_class_override=BadgeRoute,
)
