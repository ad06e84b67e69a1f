"""What an answer writes without the ORM (service/surveys/service.py): the same event body as
webhooks/payloads.py makes from mapped objects, and the same dossier flag as
events.mark_dossier."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Dossier, Invitation, OutboxEvent, Response
from tests.conftest import DbFactory
from tests.surveys.conftest import ANSWERS, IssuedSurvey

QUESTIONS = ("timeliness", "supplement_requests", "staff_attitude", "overall")


@pytest.mark.parametrize(
    ("answers", "unsatisfied"),
    [
        ({**ANSWERS, "complaint": ""}, False),
        ({**ANSWERS, "overall": "unsatisfied", "complaint": "Chờ lâu quá"}, True),
    ],
)
def test_the_event_body_and_the_dossier_flag(
    client: TestClient,
    survey: IssuedSurvey,
    db: DbFactory,
    answers: dict[str, str],
    unsatisfied: bool,
) -> None:
    body = {"token": survey.token, "answers": answers, "client_submission_id": str(uuid.uuid4())}
    reply = client.post("/api/v1/responses", json=body)
    assert reply.status_code == 201, reply.text
    with db() as session:
        response = session.exec(select(Response)).one()
        invitation = session.get(Invitation, response.invitation_id)
        assert invitation is not None and invitation.status == "answered"
        dossier = session.get(Dossier, invitation.dossier_id)
        assert dossier is not None
        assert dossier.has_unsatisfied_evaluation is unsatisfied
        event = session.exec(
            select(OutboxEvent).where(OutboxEvent.type == "response.submitted")
        ).one()
        assert event.agency_id == response.agency_id
        assert event.payload == {
            "response_id": response.id,
            "dossier_code": dossier.code,
            "agency_code": "G22.39",
            "source": response.source,
            "received_at": response.received_at.isoformat(),
            "answers": {k: answers[k] for k in QUESTIONS},
            "has_complaint": bool(answers["complaint"]),
        }
    assert reply.json()["response_id"] == response.id


def test_opening_an_answered_survey_leaves_it_answered(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    assert client.get(survey.path).status_code == 200
    with db() as session:
        assert session.exec(select(Invitation)).one().status == "opened"
    reply = client.post(survey.path, data={**ANSWERS, "lang": "vi"}, follow_redirects=False)
    assert reply.status_code == 303
    assert client.get(survey.path).status_code == 409
    assert client.get(f"/api/v1/surveys/{survey.token}/form").status_code == 409
    with db() as session:
        invitation = session.exec(select(Invitation)).one()
        assert (invitation.status, invitation.opened_at is not None) == ("answered", True)
