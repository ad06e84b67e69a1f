"""Answering by API (POST /api/v1/responses): a kiosk app, a portal, an import.

The token or short code is the credential; a key is optional, and an admin key may import
past evaluations (`submitted_at`). Safe to retry with the same client_submission_id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from service import throttle
from service.errors import Forbidden
from service.models import Agency, Petition, Response
from service.petitions import followup
from service.profile import Channel
from service.settings import Settings
from service.surveys import service
from service.surveys.answers import Answers
from service.surveys.api_answers import checked_json_answers
from service.surveys.schemas import ResponseCreate
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ApiSubmitted:
    created: bool  # False: this submission was stored before (200)
    response_id: int
    followup_url: str | None


async def submit(work: UnitOfWork, payload: ResponseCreate) -> ApiSubmitted:
    """With the other answers of the moment (`work.write`); wrong codes are throttled."""
    return await work.guarded(
        lambda session, guess: _submit(work, session, guess, payload),
        run=work.write,
        unguessable=payload.token is not None,  # a short code can be guessed; a token not
    )


def _submit(
    work: UnitOfWork, session: Session, guess: throttle.Guess, payload: ResponseCreate
) -> ApiSubmitted:
    principal = work.optional_principal(session)
    if payload.submitted_at is not None and (principal is None or principal.role != "admin"):
        raise Forbidden("Only an admin key may set submitted_at (to import past evaluations).")
    survey = service.find_invitation(
        session, guess, payload.token, payload.short_code, payload.client_submission_id
    )
    if principal is not None and principal.role == "admin" and principal.scope_path is not None:
        # An admin's powers here (backdating, the import's rules) end at its part of the tree.
        agency = session.get(Agency, survey.dossier.agency_id)
        assert agency is not None
        principal.require_scope(agency)
        if payload.submitted_at is not None and not principal.placed_above(agency):
            # Dated into a period already reported, answers move its B, C and K: an import
            # is the competent authority's, as D and E are, never the agency's own key's
            # (a ward's admin key backdated good answers to its own dossiers: audit).
            raise Forbidden(
                f"Past evaluations of agency '{agency.code}' are imported by an admin above "
                "it (the province's IT centre, or `hailong import`); your key is the "
                "agency's own. Send the answer without submitted_at to record it now."
            )
    # An admin key imports (past) evaluations: the profile may require less of those.
    channel: Channel = "import" if principal is not None and principal.role == "admin" else "api"

    def answers() -> Answers:
        return checked_json_answers(
            work.profile,
            payload.answers,
            channel,
            payload.contact,
            payload.contact_consent,
            payload.language,
        )

    earlier_id = service.earlier_submission(survey, payload.submitted_at)
    if earlier_id is not None:
        earlier = session.get(Response, earlier_id)
        assert earlier is not None
        service.ensure_retry(session, earlier, answers, payload.submitted_at)
        petition = service.petition_of(session, earlier_id)
        return ApiSubmitted(False, earlier_id, _followup_url(session, work.settings, petition))
    if payload.submitted_at is not None:
        dossier = survey.dossier
        service.check_answered_after_receipt(
            payload.submitted_at, dossier.received_at, dossier.resolved_at
        )
    how = service.Submission(payload.source, payload.client_submission_id, payload.submitted_at)
    submitted = service.store(session, survey, answers(), work.profile, how)
    followup_url = _followup_url(session, work.settings, submitted.petition)
    return ApiSubmitted(submitted.created, submitted.response.id, followup_url)


def _followup_url(session: Session, settings: Settings, petition: Petition | None) -> str | None:
    """The link where the citizen follows a complaint, when it was given one."""
    return followup.shown_link(session, petition, settings.signing_key(), settings.base_url)
