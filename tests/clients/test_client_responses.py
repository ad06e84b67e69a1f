"""Issuing and answering through the client (sync and async), errors carrying their codes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hailong_client import (
    Answers,
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    RateLimited,
)
from sqlmodel import select

from service.db import transaction
from service.models import Invitation, Response
from tests.clients.conftest import GUESS_LIMIT, Connect, HailongServer

pytestmark = pytest.mark.usefixtures("agencies")
HCM = timezone(timedelta(hours=7))
RESOLVED = datetime(2025, 9, 15, 10, 0, tzinfo=HCM)
ANSWERS: Answers = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "good",
    "overall": "satisfied",
    "complaint": "",
}


def test_issue_with_every_fact_then_answer_by_token_and_replay(
    hailong_server: HailongServer, connect: Connect
) -> None:
    issuer = connect(hailong_server.key("issuer"))
    survey = issuer.issue_survey(
        "G22.39-250915-0001",
        "G22.39",
        RESOLVED,
        procedure_code="1.001612",
        procedure_name="Đăng ký khai sinh",
        received_at=datetime(2025, 9, 10, 8, 30, tzinfo=HCM),
        due_at=datetime(2025, 9, 15, 17, 0, tzinfo=HCM),
        handed_over_at=datetime(2025, 9, 15, 14, 0, tzinfo=HCM),
        supplement_requests=0,
        channel="counter",
        staff={"receiving": "CB001", "handling": "CB002", "returning": "CB003"},
        counter_code="Q01",
        language="vi",
    )
    assert survey.created and survey.status == "issued"
    assert survey.survey_url == f"{hailong_server.url}/s/{survey.token}"
    assert survey.expires_at.tzinfo is not None

    public = connect()  # answering needs no key: the token is the credential
    first = public.submit_response(
        survey.token,
        answers=ANSWERS,
        source="phone",
        client_submission_id="sub-1",
        contact="0901234567",
        contact_consent=True,
    )
    assert (first.status, first.created) == ("answered", True)
    replay = public.submit_response(
        survey.token, answers=ANSWERS, source="phone", client_submission_id="sub-1"
    )
    assert (replay.response_id, replay.created) == (first.response_id, False)
    with pytest.raises(Conflict) as again:
        public.submit_response(survey.token, answers=ANSWERS, client_submission_id="sub-2")
    assert (again.value.status, again.value.code) == (409, "already_answered")


def test_short_code_stands_in_for_the_token(
    hailong_server: HailongServer, connect: Connect
) -> None:
    survey = connect(hailong_server.key("issuer")).issue_survey("D-SC", "79.BTH", RESOLVED)
    typed = survey.short_code.lower().replace("-", " ")  # as a citizen might type it
    submitted = connect().submit_response(short_code=typed, answers=ANSWERS, source="kiosk")
    assert submitted.created


def test_revoked_and_expired_surveys_are_gone(
    hailong_server: HailongServer, connect: Connect
) -> None:
    issuer = connect(hailong_server.key("issuer"))
    revoked = issuer.issue_survey("D-REV", "79.BTH", RESOLVED)
    assert issuer.revoke_survey("D-REV").status == "revoked"
    with pytest.raises(Gone) as gone:
        connect().submit_response(revoked.token, answers=ANSWERS)
    assert (gone.value.status, gone.value.code) == (410, "revoked")

    expired = issuer.issue_survey("D-OLD", "79.BTH", RESOLVED)
    with transaction(hailong_server.engine) as session:
        invitation = session.exec(
            select(Invitation).where(Invitation.public_id == expired.survey_id)
        ).one()
        invitation.expires_at = invitation.issued_at
        session.add(invitation)
    with pytest.raises(Gone) as old:
        connect().submit_response(expired.token, answers=ANSWERS)
    assert old.value.code == "expired"


def test_invalid_answers_name_the_fields(hailong_server: HailongServer, connect: Connect) -> None:
    survey = connect(hailong_server.key("issuer")).issue_survey("D-BAD", "79.BTH", RESOLVED)
    with pytest.raises(InvalidInput) as bad:
        connect().submit_response(
            survey.token, answers={"timeliness": "whenever", "overall": "satisfied"}
        )
    assert bad.value.code == "invalid_input"
    assert "answers.timeliness" in {f["field"] for f in bad.value.fields}
    with pytest.raises(InvalidInput) as unsure:  # pydantic's own validation, same shape
        connect().submit_response(survey.token, answers=ANSWERS, client_submission_id="x" * 65)
    assert [f["field"] for f in unsure.value.fields] == ["client_submission_id"]


def test_credentials_are_checked_before_sending(connect: Connect) -> None:
    public = connect()
    with pytest.raises(ValueError, match="exactly one"):
        public.submit_response(answers=ANSWERS)
    with pytest.raises(ValueError, match="exactly one"):
        public.submit_response("t", "ABCD-EFGH", answers=ANSWERS)
    with pytest.raises(ValueError, match="time zone"):
        public.submit_response("t", answers=ANSWERS, submitted_at=datetime(2025, 9, 1))


def test_only_an_admin_may_backdate(hailong_server: HailongServer, connect: Connect) -> None:
    survey = connect(hailong_server.key("issuer")).issue_survey("D-IMP", "79.BTH", RESOLVED)
    when = datetime(2025, 9, 16, 9, 0, tzinfo=HCM)
    with pytest.raises(Forbidden) as denied:
        connect().submit_response(survey.token, answers=ANSWERS, submitted_at=when)
    assert denied.value.code == "forbidden"
    imported = connect(hailong_server.key("admin")).submit_response(
        survey.token, answers=ANSWERS, submitted_at=when
    )
    assert imported.created
    with transaction(hailong_server.engine) as session:
        stored = session.exec(select(Response)).one()
    assert stored.received_at == when


def test_unknown_codes_then_rate_limited_with_retry_after(
    hailong_server: HailongServer, connect: Connect
) -> None:
    public = connect()
    for _ in range(GUESS_LIMIT):
        with pytest.raises(NotFound) as unknown:
            public.submit_response(short_code="ZZZZ-ZZZZ", answers=ANSWERS)
        assert unknown.value.code == "not_found"
    with pytest.raises(RateLimited) as limited:
        public.submit_response(short_code="ZZZZ-ZZZZ", answers=ANSWERS)
    assert (limited.value.status, limited.value.code) == (429, "rate_limited")
    window = hailong_server.settings.guess_window_seconds
    assert limited.value.retry_after is not None and 0 < limited.value.retry_after <= window
