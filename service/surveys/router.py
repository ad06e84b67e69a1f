"""POST /api/v1/responses: the JSON way to answer (kiosks, apps, imports)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import Session, select

from service.errors import Forbidden, NotFound, error_responses
from service.models import Petition
from service.petitions import followup
from service.scoring.profile import Channel
from service.surveys import service, throttle
from service.surveys.api_answers import checked_json_answers
from service.surveys.schemas import ResponseCreate, ResponseCreated
from service.unit_of_work import ApiWork

router = APIRouter(prefix="/api/v1", tags=["responses"])


@router.post(
    "/responses",
    status_code=201,
    response_model=ResponseCreated,
    summary="Submit the evaluation of a survey (the token or short code is the credential)",
    responses={
        200: {
            "description": "Same client_submission_id again: the same response",
            "model": ResponseCreated,
        },
        **error_responses(401, 403, 404, 409, 410, 422, 429),
    },
)
async def submit_response(
    payload: ResponseCreate, response: Response, work: ApiWork
) -> ResponseCreated:
    def submit(session: Session) -> tuple[bool, int, str | None]:
        principal = work.optional_principal(session)
        if payload.submitted_at is not None and (principal is None or principal.role != "admin"):
            raise Forbidden("Only an admin key may set submitted_at (to import past evaluations).")
        throttle.check_allowed(work.engine, work.settings, work.client_address)
        try:
            issued = service.find_invitation(session, payload.token, payload.short_code)
        except NotFound:
            throttle.record_failure(work.engine, work.settings, work.client_address)
            raise
        earlier = service.replay_or_ensure_answerable(session, issued, payload.client_submission_id)
        if earlier is not None:
            assert earlier.id is not None
            return False, earlier.id, _followup_url(session, earlier.id)
        # An admin key imports (past) evaluations: the profile may require less of those.
        channel: Channel = (
            "import" if principal is not None and principal.role == "admin" else "api"
        )
        answers = checked_json_answers(
            work.profile, payload.answers, channel, payload.contact, payload.contact_consent
        )
        submitted = service.submit(
            session,
            issued,
            answers,
            work.profile,
            source=payload.source,
            client_submission_id=payload.client_submission_id,
            received_at=payload.submitted_at,
        )
        assert submitted.response.id is not None
        return (
            submitted.created,
            submitted.response.id,
            _followup_url(session, submitted.response.id),
        )

    def _followup_url(session: Session, response_id: int) -> str | None:
        petition = session.exec(select(Petition).where(Petition.response_id == response_id)).first()
        if petition is None or petition.followup_seed is None:
            return None
        token = followup.issue(petition, work.settings.signing_key())  # idempotent
        session.add(petition)
        return followup.link(work.settings.base_url, token)

    created, response_id, followup_url = await work.run(submit)
    if not created:
        response.status_code = 200
    return ResponseCreated(response_id=response_id, followup_url=followup_url)
