"""Public score pages (no key): the ranking, an agency's page, the widget and the badge.

Each request reads the counters in one unit of work, then renders in a worker thread so a
300-row page never blocks the event loop. Vietnamese unless `?lang=en`.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from service import numbers
from service.errors import error_responses
from service.i18n import gettext_for, pick_language
from service.portal import badge, cells, charts, picker, trend_chart, views
from service.portal.memo import memo_of, pages_of
from service.portal.rendering import base_context, period_or_none, problem, render
from service.portal.responses import Timing
from service.unit_of_work import PublicWork

router = APIRouter(tags=["public pages"])

PeriodQuery = Annotated[
    str | None,
    Query(max_length=16, description="2025-08, 2025-Q3 or 2025; default: the current quarter"),
]
LangQuery = Annotated[str | None, Query(max_length=8, description="vi (default) or en")]
CodePath = Annotated[str, Path(max_length=64, description="Agency code")]


def documented_errors(media: str) -> dict[int | str, dict[str, Any]]:
    """404 and 422 come as a page (or a badge) that says what is wrong; a parameter too long
    for FastAPI's own validation still gets the API's JSON error."""
    errors = error_responses(422)
    errors[422]["description"] = (
        "A period that is not one, as a page; a too-long parameter, as JSON"
    )
    errors[422]["content"] = {**errors[422]["content"], media: {}}
    errors[404] = {"description": "No agency has that code", "content": {media: {}}}
    return errors


PAGE_ERRORS = documented_errors("text/html")


@router.get(
    "/rankings",
    summary="Public ranking of a parent's agencies",
    response_class=HTMLResponse,
    responses=PAGE_ERRORS,
)
async def rankings_page(
    request: Request,
    work: PublicWork,
    period: PeriodQuery = None,
    parent_code: Annotated[str | None, Query(max_length=64)] = None,
    sort: Annotated[str | None, Query(max_length=8, description="k|name|a|b|c|d|e|g5|n")] = None,
    lang: LangQuery = None,
) -> Response:
    timing = Timing()
    language = pick_language(lang)
    parsed = period_or_none(period)
    if parsed is None:
        return await problem(request, language, "period", 422)
    order = sort if sort in views.SORTS else "k"

    memo = memo_of(request)

    def read(session: Session) -> views.RankingView | None:
        return views.ranking(session, parent_code, parsed, memo)

    view = await work.run(read)
    timing.mark("db")
    if view is None:
        return await problem(request, language, "agency", 404, parent_code)
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
    return await render(
        request,
        "portal/rankings.html",
        context,
        timing=timing,
        remembered=(pages_of(request), key, view.source),
    )


@router.get(
    "/agencies/{code}",
    summary="Public page of one agency's scores",
    response_class=HTMLResponse,
    responses=PAGE_ERRORS,
)
async def agency_page(
    request: Request,
    code: CodePath,
    work: PublicWork,
    period: PeriodQuery = None,
    lang: LangQuery = None,
) -> Response:
    timing = Timing()
    language = pick_language(lang)
    parsed = period_or_none(period)
    if parsed is None:
        return await problem(request, language, "period", 422)
    today = picker.today_local()
    memo = memo_of(request)

    def read(session: Session) -> views.AgencyView | None:
        return views.agency_page(session, code, parsed, memo, today)

    view = await work.run(read)
    timing.mark("db")
    if view is None:
        return await problem(request, language, "agency", 404, code)
    context = base_context(request, language, parsed, work.profile)
    context.update(
        view=view,
        score=view.score,
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
    return await render(request, "portal/agency.html", context, timing=timing)


@router.get(
    "/embed/agencies/{code}",
    summary="Widget for an agency's website (iframe)",
    response_class=HTMLResponse,
    responses=PAGE_ERRORS,
)
async def embed_widget(
    request: Request,
    code: CodePath,
    work: PublicWork,
    period: PeriodQuery = None,
    lang: LangQuery = None,
) -> Response:
    timing = Timing()
    language = pick_language(lang)
    parsed = period_or_none(period)
    if parsed is None:
        return await problem(request, language, "period", 422)
    memo = memo_of(request)
    score = await work.run(lambda session: views.one_score(session, code, parsed, memo))
    timing.mark("db")
    if score is None:
        return await problem(request, language, "agency", 404, code)
    context = base_context(request, language, parsed, work.profile)
    context.update(score=score, switch_url=None)
    return await render(request, "portal/embed.html", context, kind="embed", timing=timing)


@router.get(
    "/badge/{code}.svg",
    summary="SVG badge (K and group) for <img> on any website",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **documented_errors("image/svg+xml")},
)
async def badge_svg(
    request: Request,
    code: CodePath,
    work: PublicWork,
    period: PeriodQuery = None,
    lang: LangQuery = None,
) -> Response:
    timing = Timing()
    language = pick_language(lang)
    parsed = period_or_none(period)
    score = None
    if parsed is not None:
        memo = memo_of(request)
        score = await work.run(lambda session: views.one_score(session, code, parsed, memo))
        timing.mark("db")
    context = {
        "lang": language,
        "_": gettext_for(language),
        "num": lambda value, decimals=2: numbers.number(value, language, decimals),
        "layout": badge.layout,
        "score": score,
        "period": picker.name_of(parsed) if parsed else None,
        "switch_url": None,
    }
    status = 200 if score is not None else (404 if parsed is not None else 422)
    return await render(
        request, "portal/badge_svg.html", context, kind="badge", status=status, timing=timing
    )
