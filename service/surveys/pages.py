"""The citizen's survey page: GET shows it, POST stores the answers. Works without JS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session
from starlette.responses import Response

from service import throttle
from service.calendar.working_days import local_date
from service.errors import ServiceError
from service.handovers.tokens import format_short_code
from service.i18n import pick_language
from service.models import utcnow
from service.petitions import followup
from service.profile import Profile
from service.surveys import lookup, service
from service.surveys.answers import check_answers
from service.surveys.lookup import Survey
from service.unit_of_work import UnitOfWork
from service.web.deps import FormDep, PublicWork
from service.web.errors import resend_form
from service.web.link_pages import guarded_page
from service.web.pages import OWN_FORM_REFUSED_HEADERS, Page, render, render_framed
from service.web.params import LangQuery, TokenPath

router = APIRouter(tags=["survey pages"])

FORM_FIELDS = {"complaint", "wants_reply", "contact", "consent", "website", "lang"}
# The problem of a form naming a question this survey no longer asks (form.html says so).
QUESTIONS_CHANGED = "questions_changed"
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
    "two": "2",
    "several": "3+",
    "grin": "😄",
    "smile": "🙂",
    "neutral": "😐",
    "frown": "🙁",
}
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown link"},
    409: {"description": "Already answered"},
    410: {"description": "Expired or revoked"},
    429: {"description": "Too many wrong links"},
}


@dataclass(frozen=True)
class Variant:
    """Where the survey is shown: the phone page (/s/...), or the page a portal frames
    (/embed/s/...: compact, framed only by `frame_origins`)."""

    prefix: str
    embedded: bool = False
    frame_origins: tuple[str, ...] = ()

    def send(self, request: Request, page: Page) -> Response:
        if not self.embedded:
            return render(request, page)
        return render_framed(request, page, list(self.frame_origins))


PHONE = Variant("/s")


def status_page(
    kind: str,
    lang: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    thanks_url: str | None = None,
    survey_id: str | None = None,
    comment_sent: bool = False,
) -> Page:
    """`survey_id`: an answered survey's, which a portal's frame is told (survey-embed.js):
    a double tap, or the portal's page opened again, showed "already answered" and the
    portal went on offering the survey (audit). `comment_sent`: the answer left a comment,
    which its thank-you page shows (with a follow-up link, where it has one)."""
    return Page(
        "survey/status.html",
        {
            "kind": kind,
            "detail": detail,
            "thanks_url": thanks_url,
            "survey_id": survey_id,
            "comment_sent": comment_sent,
        },
        STATUS_CODES[kind],
        headers or {},
        lang=lang,
    )


def refused(exc: ServiceError, survey: Survey, token: str, variant: Variant, lang: str) -> Page:
    """The page saying why the survey cannot be answered. One answered on this phone page
    links back to its thank-you page: a reply lost on 3G and sent again, or the slip's QR
    scanned again, showed a dead end where the complaint's follow-up link had been (audit).
    The token is the credential for both. The answer is the survey's as last known: one
    stored by another post after this one's lookup is recorded on it when this one loses
    the claim (service._after_lost_race)."""
    kind = service.status_error_kind(exc)
    thanks = None
    if kind == "answered" and survey.answer_source == "phone":
        thanks = f"{variant.prefix}/{token}/thanks?lang={lang}"
    answered = survey.invitation.public_id if kind == "answered" else None
    commented = survey.answer_petition_id is not None
    return status_page(kind, lang, thanks_url=thanks, survey_id=answered, comment_sent=commented)


def _form_context(profile: Profile, survey: Survey, action: str) -> dict[str, Any]:
    dossier = survey.dossier
    return {
        "questions": profile.survey.questions,
        # Marked, and `required` for assistive technology: the template read a
        # `q.required` the profile's questions do not have, and marked none (audit).
        "required": {q.field for q in profile.survey.questions if q.required_on("phone")},
        "complaint_max": profile.survey.complaint_max_chars,
        "agency_name": survey.agency_name,
        "procedure_name": dossier.procedure_name,
        "dossier_code": dossier.code,
        "short_code": format_short_code(survey.invitation.short_code),
        "action": action,
        "icons": ICONS,
    }


ShowSurvey = Callable[[Session, Survey, str], Page]


async def survey_link_page(
    work: UnitOfWork,
    token: str,
    lang: str | None,
    show: ShowSurvey,
    resend: dict[str, Any] | None = None,
) -> Page:
    """`show(session, survey, language)` for the survey of `token`, in the language asked
    for (else the survey's); the page for an unknown link when there is none. Looked up
    under the guessing throttle, with the other writes of the moment (`show` may write: the
    survey is marked opened or answered)."""

    def found(session: Session, guess: throttle.Guess) -> Page:
        survey = guess.look_counting(lambda params: lookup.by_token(session, token, None, params))
        if survey is None:
            return status_page("unknown", pick_language(lang))
        return show(session, survey, pick_language(lang, survey.invitation.language))

    return await guarded_page(work, lang, found, work.write, resend)


@router.get(
    "/s/{token}", response_class=HTMLResponse, summary="The survey page", responses=PAGE_RESPONSES
)
async def survey_page(
    request: Request, token: TokenPath, work: PublicWork, lang: LangQuery = None
) -> Response:
    return await show_survey(request, token, work, lang, PHONE)


async def show_survey(
    request: Request, token: str, work: UnitOfWork, lang: str | None, variant: Variant
) -> Response:
    """The form (the survey marked opened), or the page saying why it cannot be answered."""

    def show(session: Session, survey: Survey, language: str) -> Page:
        try:
            service.ensure_answerable(survey.invitation)
        except ServiceError as exc:
            return refused(exc, survey, token, variant, language)
        if not work.only_looking:
            service.mark_opened(session, survey)
        context = _form_context(work.profile, survey, f"{variant.prefix}/{token}")
        return Page("survey/form.html", {"values": {}, "problems": {}, **context}, lang=language)

    return variant.send(request, await survey_link_page(work, token, lang, show))


@router.post(
    "/s/{token}",
    response_class=HTMLResponse,
    summary="Submit the survey form",
    responses={
        **PAGE_RESPONSES,
        303: {"description": "Stored: to the thank-you page, GET /s/{token}/thanks"},
        422: {"description": "Missing or invalid answers: the form again"},
    },
)
async def submit_survey(
    request: Request, token: TokenPath, form: FormDep, work: PublicWork, lang: LangQuery = None
) -> Response:
    return await answer_survey(request, token, form, work, lang, PHONE)


async def answer_survey(
    request: Request,
    token: str,
    form: dict[str, str],
    work: UnitOfWork,
    lang: str | None,
    variant: Variant,
) -> Response:
    """Store the posted answers: the thank-you page, the form again with its problems, or
    the page saying why the survey cannot be answered."""
    language = pick_language(form.get("lang"), lang)
    profile = work.profile

    def submit(session: Session, survey: Survey, _: str) -> Page:
        try:
            # The survey's state before anything of the form, as the JSON API does (API.md:
            # answered 409, expired or revoked 410): an incomplete form to an expired
            # survey was shown again to be completed, a 422, and a form opened before the
            # questionnaire lost a question was "invalid, open the link again", which then
            # said 409 (audit). The honeypot too: a bot's post to a survey that cannot be
            # answered hears what anyone would, and nothing is stored either way. A form
            # shown before the expiry is judged when shown, for a while (SHOWN_FORM_GRACE).
            judged_at = service.form_judged_at(survey.invitation, utcnow())
            service.ensure_answerable(survey.invitation, judged_at)
        except ServiceError as exc:
            return refused(exc, survey, token, variant, language)
        question_fields = {q.field for q in profile.survey.questions}
        unknown = set(form) - FORM_FIELDS - question_fields
        if form.get("website"):  # the honeypot: only bots fill a field people cannot see
            # No survey_id: inside a portal's page it would tell the portal "answered"
            # (survey-embed.js) when nothing was stored.
            return Page("survey/thanks.html", {"petition": None, "survey_id": None}, lang=language)

        checked = check_answers(
            profile,
            {f: form.get(f) for f in question_fields},
            form.get("complaint"),
            form.get("contact"),
            form.get("consent") == "yes",
            language,
            channel="phone",
            wants_reply=form.get("wants_reply") == "yes",
            # The page's hidden field says which language it was in; a post without one
            # (not from our page) leaves it unknown rather than guessing Vietnamese.
            answered_in=language if (form.get("lang") or lang) else None,
        )
        if unknown:
            # A form shown before the questionnaire lost a question (a restart without the
            # TT 01 profile beside it): "invalid, open the link again" lost every answer and
            # the comment typed (survey audit). Shown again as typed, without that question.
            checked.problems[QUESTIONS_CHANGED] = ", ".join(sorted(unknown))[:200]
        if checked.problems:
            context = _form_context(profile, survey, f"{variant.prefix}/{token}")
            return Page(
                "survey/form.html",
                {"values": form, "problems": checked.problems, **context},
                422,
                # Kept for the back button, unless it repeats a contact or a complaint typed
                # in it: on a shared computer the next person would find them (review).
                {}
                if form.get("contact") or form.get("complaint")
                else dict(OWN_FORM_REFUSED_HEADERS),
                lang=language,
            )
        try:
            how = service.Submission("phone", judged_at=judged_at)
            submitted = service.submit(session, survey, checked.answers, profile, how)
        except ServiceError as exc:
            return refused(exc, survey, token, variant, language)
        petition = submitted.petition
        deadline = (
            local_date(petition.deadline_at).strftime("%d/%m/%Y")
            if petition and petition.deadline_at
            else None
        )
        # The citizen's private link to the reply (same transaction), when an answer was
        # asked for or a contact left.
        followup_url = followup.shown_link(
            session, petition, work.settings.signing_key(), work.settings.base_url
        )
        return Page(
            "survey/thanks.html",
            {
                "petition": petition,
                "deadline": deadline,
                "agency_name": survey.agency_name,
                "followup_url": followup_url,
                "survey_id": survey.invitation.public_id,
            },
            lang=language,
        )

    page = await survey_link_page(work, token, language, submit, resend_form(request))
    if page.template == "survey/thanks.html" and page.status == 200:
        # Stored (or the honeypot, as if): 303 to the thank-you page (thanks.py), which a
        # reload shows again, follow-up link included, instead of posting a second time;
        # inside a portal's frame too.
        return RedirectResponse(f"{variant.prefix}/{token}/thanks?lang={language}", 303)
    return variant.send(request, page)
