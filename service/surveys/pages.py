"""The citizen's survey page: GET shows it, POST stores the answers. Works without JS."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from service.calendar.working_days import local_date
from service.deps import EngineDep, ProfileDep, SessionDep, SettingsDep
from service.errors import ServiceError
from service.handovers.service import Issued, find_by_token
from service.handovers.tokens import format_short_code
from service.i18n import gettext_for, pick_language
from service.scoring.profile import Profile
from service.surveys import service, throttle
from service.surveys.answers import check_answers
from service.surveys.security import harden

router = APIRouter(tags=["survey pages"])

TokenPath = Annotated[str, Path(max_length=128, description="The survey token")]
LangQuery = Annotated[str | None, Query(max_length=8, description="vi (default) or en")]
FORM_FIELDS = {"complaint", "contact", "consent", "website", "lang"}
MAX_FORM_BYTES = 64 * 1024
STATUS_CODES = {
    "answered": 409,
    "expired": 410,
    "revoked": 410,
    "unknown": 404,
    "invalid": 422,
    "rate_limited": 429,
}
ICONS = {
    "clock": "⏰",
    "hourglass": "⌛",
    "zero": "0",
    "one": "1",
    "many": "2+",
    "grin": "😄",
    "smile": "🙂",
    "neutral": "😐",
    "frown": "🙁",
}


async def form_fields(request: Request) -> dict[str, str]:
    """The url-encoded form, read without a multipart dependency; repeated keys: last wins."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {"__too_large__": "1"}
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


FormDep = Annotated[dict[str, str], Depends(form_fields)]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _render(
    request: Request, template: str, lang: str, status: int = 200, **context: Any
) -> Response:
    templates = request.app.state.templates
    response = templates.TemplateResponse(
        request,
        template,
        {"lang": lang, "_": gettext_for(lang), "icons": ICONS, **context},
        status_code=status,
    )
    return harden(response)


def _status_page(request: Request, kind: str, lang: str, detail: str | None = None) -> Response:
    return _render(
        request, "survey/status.html", lang, STATUS_CODES[kind], kind=kind, detail=detail
    )


def _form_context(
    profile: Profile, issued: Issued, agency_name: str, lang: str, token: str
) -> dict[str, Any]:
    dossier = issued.dossier
    return {
        "questions": profile.survey.questions,
        "complaint_max": profile.survey.complaint_max_chars,
        "agency_name": agency_name,
        "procedure_name": dossier.procedure_name,
        "dossier_code": dossier.code,
        "short_code": format_short_code(issued.invitation.short_code),
        "action": f"/s/{token}",
        "token": token,
    }


def _lookup(
    request: Request, engine: EngineDep, settings: SettingsDep, session: SessionDep, token: str
) -> Issued | None:
    throttle.check_allowed(engine, settings, _client(request))
    issued = find_by_token(session, token)
    if issued is None:
        throttle.record_failure(engine, settings, _client(request))
    return issued


@router.get(
    "/s/{token}",
    response_class=HTMLResponse,
    summary="The survey page",
    responses={
        404: {"description": "Unknown link"},
        409: {"description": "Answered"},
        410: {"description": "Expired or revoked"},
        429: {"description": "Too many wrong links"},
    },
)
def survey_page(
    request: Request,
    token: TokenPath,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    profile: ProfileDep,
    lang: LangQuery = None,
) -> Response:
    try:
        issued = _lookup(request, engine, settings, session, token)
    except throttle.TooManyGuesses as exc:
        return _with_retry(_status_page(request, "rate_limited", pick_language(lang)), exc)
    if issued is None:
        return _status_page(request, "unknown", pick_language(lang))
    lang = pick_language(lang, issued.invitation.language)
    try:
        service.ensure_answerable(issued.invitation)
    except ServiceError as exc:
        return _status_page(request, service.status_error_kind(exc), lang)
    service.mark_opened(session, issued.invitation)
    agency = service.agency_of(session, issued.dossier)
    context = _form_context(profile, issued, agency.name, lang, token)
    return _render(request, "survey/form.html", lang, values={}, problems={}, **context)


@router.post(
    "/s/{token}",
    response_class=HTMLResponse,
    summary="Submit the survey form",
    responses={
        404: {"description": "Unknown link"},
        409: {"description": "Answered"},
        410: {"description": "Expired or revoked"},
        422: {"description": "Missing or invalid answers: the form again"},
        429: {"description": "Too many wrong links"},
    },
)
def submit_survey(
    request: Request,
    token: TokenPath,
    form: FormDep,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    profile: ProfileDep,
    lang: LangQuery = None,
) -> Response:
    lang = pick_language(form.get("lang"), lang)
    try:
        issued = _lookup(request, engine, settings, session, token)
    except throttle.TooManyGuesses as exc:
        return _with_retry(_status_page(request, "rate_limited", lang), exc)
    if issued is None:
        return _status_page(request, "unknown", lang)
    question_fields = {q.field for q in profile.survey.questions}
    unknown = set(form) - FORM_FIELDS - question_fields
    if unknown:
        return _status_page(request, "invalid", lang, detail=", ".join(sorted(unknown))[:200])
    if form.get("website"):  # the honeypot: only bots fill a field people cannot see
        return _render(request, "survey/thanks.html", lang, petition=None)
    checked = check_answers(
        profile,
        {f: form.get(f) for f in question_fields},
        form.get("complaint"),
        form.get("contact"),
        form.get("consent") == "yes",
        lang,
    )
    if checked.problems:
        agency = service.agency_of(session, issued.dossier)
        context = _form_context(profile, issued, agency.name, lang, token)
        return _render(
            request,
            "survey/form.html",
            lang,
            422,
            values=form,
            problems=checked.problems,
            **context,
        )
    try:
        submitted = service.submit(session, issued, checked.answers, profile, source="phone")
    except ServiceError as exc:
        return _status_page(request, service.status_error_kind(exc), lang)
    agency = service.agency_of(session, issued.dossier)
    petition = submitted.petition
    deadline = (
        local_date(petition.deadline_at).strftime("%d/%m/%Y")
        if petition and petition.deadline_at
        else None
    )
    return _render(
        request,
        "survey/thanks.html",
        lang,
        petition=petition,
        deadline=deadline,
        agency_name=agency.name,
    )


def _with_retry(response: Response, exc: ServiceError) -> Response:
    response.headers.update(exc.headers or {})
    return response
