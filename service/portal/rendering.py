"""What every public page shares: links that keep the language, the words' context, the
profile's numbers the pages print, and rendering in a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import Request
from fastapi.responses import Response

from service import numbers
from service.i18n import gettext_for
from service.portal import charts, picker
from service.portal.memo import PageMemo
from service.portal.responses import Timing, send
from service.scoring.periods import Period
from service.scoring.profile import Profile

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
        "a_max": k.on_time_points,
        "d_max": k.d_max,
        "e_max": k.e_max,
        "k_max": k.on_time_points + 2 + k.d_max + k.e_max,
        "threshold": k.satisfied_threshold,
        "threshold_is_satisfied": k.threshold_is_satisfied,
        "g5_max": profile.group5.points * 3,
        "late_days": k.late_zero_after_working_days,
    }


def base_context(request: Request, lang: str, period: Period, profile: Profile) -> dict[str, Any]:
    return {
        "lang": lang,
        "_": gettext_for(lang),
        "link": link_maker(lang),
        "num": lambda value, decimals=2: numbers.number(value, lang, decimals),
        "count": lambda value: picker.count(value, lang),
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


async def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    kind: str = "page",
    status: int = 200,
    timing: Timing | None = None,
    remembered: Remembered | None = None,
) -> Response:
    """`remembered`: (the memo, the page's key, what it was made from), to reuse a page
    rendered from the very same data (see memo.PageMemo)."""
    lang = context["lang"]
    context.setdefault("switch_url", switch_url(request, lang))
    env = request.app.state.templates.env

    def build() -> str:
        return str(env.get_template(template).render(context))

    body = remembered[0].get(remembered[1], remembered[2]) if remembered else None
    if body is None:
        body = await anyio.to_thread.run_sync(build)
        if remembered and remembered[2] is not None:
            remembered[0].put(remembered[1], remembered[2], body)
    if timing is not None:
        timing.mark("render")
    return send(request, body, lang=lang, kind=kind, status=status, timing=timing)


async def problem(
    request: Request, lang: str, kind: str, status: int, code: str | None = None
) -> Response:
    """A page that says what went wrong: unknown agency (404) or a period we cannot read."""
    context = {
        "lang": lang,
        "_": gettext_for(lang),
        "link": link_maker(lang),
        "problem": kind,
        "code": code,
    }
    return await render(request, "portal/problem.html", context, status=status)


def period_or_none(text: str | None) -> Period | None:
    try:
        return picker.parse_or_default(text)
    except ValueError:
        return None
