"""POST /api/v1/responses per API.md."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from service.models import Invitation, Petition, Response, ResponseContact
from tests.conftest import DbFactory, KeyFactory
from tests.surveys.conftest import ANSWERS, IssuedSurvey, issue

URL = "/api/v1/responses"


def _post(
    client: TestClient, body: Mapping[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    response = client.post(URL, json=body, headers=headers or {})
    return response.status_code, response.json()


def test_submit_then_same_id_200_then_other_409(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    submission = str(uuid.uuid4())
    body = {
        "token": survey.token,
        "answers": {**ANSWERS, "complaint": ""},
        "source": "phone",
        "client_submission_id": submission,
    }
    status, created = _post(client, body)
    assert (status, created["status"]) == (201, "answered")
    assert created["followup_url"] is None  # no complaint, no petition to follow
    assert isinstance(created["response_id"], int)
    assert _post(client, body) == (200, created)
    other = {**body, "client_submission_id": str(uuid.uuid4())}
    status, error = _post(client, other)
    assert (status, error["error"]) == (409, "already_answered")
    without_id = {k: v for k, v in body.items() if k != "client_submission_id"}
    assert _post(client, without_id)[0] == 409
    with db() as session:
        assert session.exec(select(func.count()).select_from(Response)).one() == 1
        invitation = session.exec(select(Invitation)).one()
        assert invitation.status == "answered" and invitation.answered_at is not None
        stored = session.exec(select(Response)).one()
        assert (stored.source, stored.overall, stored.complaint) == ("phone", "satisfied", None)


@pytest.mark.parametrize(
    "changed",
    [
        {"overall": "unsatisfied"},
        {"complaint": "Chờ lâu"},
        {"staff_attitude": "not-an-answer"},  # invalid now, and never what was stored
    ],
)
def test_the_same_submission_id_with_other_answers_is_409_not_a_replay(
    client: TestClient, survey: IssuedSurvey, db: DbFactory, changed: dict[str, str]
) -> None:
    """A 200 "the same body" told the client its other answers were stored: they were
    dropped (an app reusing one id by mistake). Only the same answers again are a retry."""
    body = {"token": survey.token, "answers": ANSWERS, "client_submission_id": "once"}
    status, created = _post(client, body)
    assert status == 201
    status, error = _post(client, {**body, "answers": {**ANSWERS, **changed}})
    assert (status, error["error"]) == (409, "already_answered")
    assert "other answers" in error["detail"] and "not stored" in error["detail"]
    # The same answers again (ANSWERS leave the complaint out; "" is none too): a retry.
    assert _post(client, {**body, "answers": {**ANSWERS, "complaint": ""}}) == (200, created)
    with db() as session:
        stored = session.exec(select(Response)).one()
        assert (stored.overall, stored.complaint) == (ANSWERS["overall"], None)


@pytest.mark.parametrize(
    ("first", "retry"),
    [
        ({}, {"contact": "0901 234 567", "contact_consent": True}),
        (
            {"contact": "0901 234 567", "contact_consent": True},
            {"contact": "ten@example.vn", "contact_consent": True},
        ),
        (
            {"answers": {**ANSWERS, "complaint": "Chờ lâu"}},
            {"answers": {**ANSWERS, "complaint": "Chờ lâu", "wants_reply": True}},
        ),
    ],
    ids=["contact-added", "contact-changed", "reply-asked"],
)
def test_the_same_submission_id_carrying_another_contact_or_wish_is_409(
    client: TestClient,
    survey: IssuedSurvey,
    db: DbFactory,
    first: dict[str, Any],
    retry: dict[str, Any],
) -> None:
    """A retry that adds a contact (or asks for an answer) the first send lacked heard 200
    "stored", and the agency never had the number to answer the citizen (audit): only what
    was stored, sent again, is a retry."""
    body = {"token": survey.token, "answers": ANSWERS, "client_submission_id": "once", **first}
    status, created = _post(client, body)
    assert status == 201
    changed = {**{k: v for k, v in body.items() if k not in ("contact", "contact_consent")}}
    status, error = _post(client, {**changed, **retry})
    assert (status, error["error"]) == (409, "already_answered"), error
    assert _post(client, body) == (200, created)  # the first send again is a retry
    # Leaving out what was kept drops nothing: a retry too (a client resending only the
    # answers, tests/clients/test_client_responses.py).
    bare = {k: v for k, v in body.items() if k not in ("contact", "contact_consent")}
    assert _post(client, {**bare, "answers": {**bare["answers"], "wants_reply": False}}) == (
        200,
        created,
    )
    with db() as session:
        contacts = session.exec(select(ResponseContact.contact)).all()
        assert contacts == ([first["contact"]] if "contact" in first else [])


def test_short_code_stands_in_for_token(client: TestClient, survey: IssuedSurvey) -> None:
    typed = survey.short_code.lower().replace("-", " ")  # as a citizen might type it
    status, _ = _post(client, {"short_code": typed, "answers": ANSWERS, "source": "kiosk"})
    assert status == 201


@pytest.mark.parametrize("credential", [{"token": "x" * 43}, {"short_code": "ABCD-EFGH"}])
def test_unknown_credential_is_404(
    client: TestClient, survey: IssuedSurvey, credential: dict[str, str]
) -> None:
    status, error = _post(client, {**credential, "answers": ANSWERS})
    assert (status, error["error"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({**ANSWERS, "timeliness": "yesterday"}, "answers.timeliness"),
        ({k: v for k, v in ANSWERS.items() if k != "overall"}, "answers.overall"),
        ({**ANSWERS, "mood": "ok"}, "answers.mood"),
        ({**ANSWERS, "complaint": "x" * 2001}, "answers.complaint"),
    ],
)
def test_bad_answers_are_422_naming_the_field(
    client: TestClient, survey: IssuedSurvey, answers: dict[str, str], field: str
) -> None:
    status, error = _post(client, {"token": survey.token, "answers": answers})
    assert status == 422
    assert field in [f["field"] for f in error["fields"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answers": ANSWERS}, "body"),
        ({"answers": ANSWERS, "source": "fax"}, "source"),
        ({"answers": ANSWERS, "ip": "1.2.3.4"}, "ip"),
    ],
)
def test_bad_bodies_are_422(
    client: TestClient, survey: IssuedSurvey, body: dict[str, object], field: str
) -> None:
    if field != "body":
        body = {**body, "token": survey.token}
    status, error = _post(client, body)
    assert status == 422
    assert field in [f["field"] for f in error["fields"]]


@pytest.mark.parametrize(
    "nulls",
    [
        {"source": None},
        {"contact_consent": None},
        {"answers": {**ANSWERS, "wants_reply": None}},
    ],
    ids=["source", "contact_consent", "wants_reply"],
)
def test_an_optional_answer_field_sent_as_null_is_taken_as_not_given(
    client: TestClient, survey: IssuedSurvey, db: DbFactory, nulls: dict[str, object]
) -> None:
    """(audit) A portal whose serializer writes null for an unset property had every
    answer refused (422): null is the field not sent, as for the handover's fields."""
    status, created = _post(client, {"token": survey.token, "answers": ANSWERS, **nulls})
    assert status == 201, created
    with db() as session:
        assert session.exec(select(Response)).one().source == "api"


@pytest.mark.parametrize("given", ["yes", 1, "on"])
@pytest.mark.parametrize("field", ["contact_consent", "wants_reply"])
def test_a_citizens_consent_and_wish_for_an_answer_are_true_or_false_only(
    client: TestClient, survey: IssuedSurvey, db: DbFactory, given: object, field: str
) -> None:
    """(contract audit) "yes", 1 and "on" were taken as true: a contact stored on a consent
    the contract never defines, a petition opened, where the kiosk refused the same."""
    answers = {**ANSWERS, "complaint": "Chậm"}
    body: dict[str, Any] = {"token": survey.token, "answers": answers, "contact": "0912345678"}
    if field == "wants_reply":
        body["answers"] = {**answers, "wants_reply": given}
    else:
        body[field] = given
    status, error = _post(client, body)
    assert status == 422, error
    assert [f["field"] for f in error["fields"]] == [
        "answers.wants_reply" if field == "wants_reply" else field
    ]
    with db() as session:
        assert session.exec(select(func.count()).select_from(Response)).one() == 0


def test_complaint_opens_a_petition_with_a_working_day_deadline(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    body = {
        "token": survey.token,
        "answers": {**ANSWERS, "complaint": "  Phải chờ 2 tiếng  ", "wants_reply": True},
        "client_submission_id": "with-complaint",
    }
    status, created = _post(client, body)
    assert status == 201
    # The citizen's private link to the reply comes back, the same on a replay, and opens.
    assert created["followup_url"].startswith("http://testserver/p/")
    assert _post(client, body) == (200, created)
    assert client.get(created["followup_url"]).status_code == 200
    with db() as session:
        petition = session.exec(select(Petition)).one()
        response = session.exec(select(Response)).one()
    assert petition.source == "survey" and petition.response_id == response.id
    assert petition.kind == "petition"  # an answer was asked for: a deadline to keep
    assert response.complaint == "Phải chờ 2 tiếng"
    assert petition.deadline_at is not None
    # 15 working days end at the close of the 15th working day after the day of receipt:
    # three weeks of them at least, less the day of receipt itself. A complaint sent just
    # after midnight on a Sunday (Vietnam time) has its deadline 19 days and 23 hours on
    # (a clean-clone run at 00:00 on 6 December found ".days >= 20" off by that day).
    local = ZoneInfo("Asia/Ho_Chi_Minh")
    received_day = petition.received_at.astimezone(local).date()
    deadline_day = petition.deadline_at.astimezone(local).date()
    assert (deadline_day - received_day).days >= 19
    assert petition.deadline_at.astimezone(local).time() >= time(23, 59)


def test_contact_is_kept_apart_and_only_with_consent(
    client: TestClient, make_key: KeyFactory, agencies: None, db: DbFactory
) -> None:
    first, second = issue(client, make_key), issue(client, make_key, dossier_code="D-2")
    refused = _post(client, {"token": first.token, "answers": ANSWERS, "contact": "0901234567"})
    assert refused[0] == 422 and "contact" in str(refused[1])
    assert (
        _post(
            client,
            {
                "token": first.token,
                "answers": ANSWERS,
                "contact": "0901234567",
                "contact_consent": True,
            },
        )[0]
        == 201
    )
    assert _post(client, {"token": second.token, "answers": ANSWERS})[0] == 201
    with db() as session:
        contacts = session.exec(select(ResponseContact)).all()
        responses = session.exec(select(Response)).all()
    assert [c.contact for c in contacts] == ["0901234567"]
    assert all("0901234567" not in r.model_dump_json() for r in responses)


def test_the_language_answered_in_is_kept_with_the_answer_not_the_invitation(
    client: TestClient, make_key: KeyFactory, agencies: None, db: DbFactory
) -> None:
    """`language` is the citizen's (the screen's), kept on the response: the invitation's
    stays as issued (on PostgreSQL, a parameter named "language" once set it too), a
    retry in another language is the same answer, and neither vi nor en is refused."""
    english, unsaid = issue(client, make_key), issue(client, make_key, dossier_code="D-2")
    body = {"token": english.token, "answers": ANSWERS, "client_submission_id": "lang-1"}
    assert _post(client, {**body, "language": "en"})[0] == 201
    assert _post(client, {**body, "language": "vi"})[0] == 200  # a retry, not other answers
    assert _post(client, {"token": unsaid.token, "answers": ANSWERS})[0] == 201
    status, error = _post(client, {"token": unsaid.token, "answers": ANSWERS, "language": "fr"})
    assert status == 422 and [f["field"] for f in error["fields"]] == ["language"]
    with db() as session:
        stored = session.exec(
            select(Invitation.language, Response.language)
            .join(Response, col(Response.invitation_id) == col(Invitation.id))
            .order_by(col(Response.id))
        ).all()
    assert stored == [("vi", "en"), ("vi", None)]


def test_submitted_at_only_for_admin(
    client: TestClient, survey: IssuedSurvey, make_key: KeyFactory, db: DbFactory
) -> None:
    body = {"token": survey.token, "answers": ANSWERS, "submitted_at": "2025-09-16T09:00:00+07:00"}
    assert _post(client, body)[0] == 403
    assert _post(client, body, make_key("issuer"))[0] == 403
    assert _post(client, body, make_key("admin"))[0] == 201
    with db() as session:
        stored = session.exec(select(Response)).one()
    assert stored.received_at.isoformat() == "2025-09-16T02:00:00+00:00"


def _scored_evaluations(client: TestClient, admin: dict[str, str], period: str) -> int:
    score = client.get(f"/api/v1/agencies/G22.39/scores/{period}", headers=admin)
    assert score.status_code == 200, score.text
    return int(score.json()["counts"]["evaluations"])


def test_a_submitted_at_before_the_dossier_s_result_is_refused(
    client: TestClient, survey: IssuedSurvey, make_key: KeyFactory
) -> None:
    """(audit) An admin importing a past evaluation typed 2024 for 2025: the answer was
    stored (201) and counted in 2024-Q3, a year before its dossier (received 10/9/2025,
    resolved 15/9/2025) existed, and 2025-Q3 missed it. Now a 422 names submitted_at, and
    the corrected time is taken."""
    admin = make_key("admin")
    body = {"token": survey.token, "answers": ANSWERS, "source": "api"}
    status, error = _post(client, {**body, "submitted_at": "2024-09-16T09:00:00+07:00"}, admin)
    assert (status, error["fields"][0]["field"]) == (422, "submitted_at"), error
    assert "before the dossier's received_at (2025-09-10 08:30" in error["detail"], error
    assert "check both times" in error["detail"], error
    assert _scored_evaluations(client, admin, "2024-Q3") == 0
    # Nothing was stored: the survey still takes the answer, at its right time.
    status, _ = _post(client, {**body, "submitted_at": "2025-09-16T09:00:00+07:00"}, admin)
    assert status == 201
    assert _scored_evaluations(client, admin, "2025-Q3") == 1


def test_answers_at_the_result_s_time_or_now_are_taken(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    """(audit) The answer-time check refuses no normal answer: an older system's clock a
    minute behind the one-stop system's (the kiosk's allowance), and a citizen answering
    on the phone (the server's time) a dossier whose one-stop system's clock runs fast, so
    that its resolved_at lies a little ahead of now."""
    admin = make_key("admin")
    imported = issue(client, make_key, dossier_code="SKEW-1")
    a_minute_before = "2025-09-15T09:59:00+07:00"  # resolved at 10:00
    body = {"token": imported.token, "answers": ANSWERS, "submitted_at": a_minute_before}
    assert _post(client, body, admin)[0] == 201
    ahead = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    fast = issue(client, make_key, dossier_code="SKEW-2", resolved_at=ahead, due_at=None)
    assert _post(client, {"token": fast.token, "answers": ANSWERS, "source": "phone"})[0] == 201


def test_revoked_and_expired_are_410(
    client: TestClient, make_key: KeyFactory, agencies: None, db: DbFactory
) -> None:
    revoked = issue(client, make_key)
    client.post(f"/api/v1/handovers/{revoked.dossier_code}/revoke", headers=make_key("issuer"))
    status, error = _post(client, {"token": revoked.token, "answers": ANSWERS})
    assert (status, error["error"]) == (410, "revoked")
    expired = issue(client, make_key, dossier_code="D-OLD")
    with db() as session:
        invitation = session.exec(select(Invitation).where(Invitation.id == 2)).one()
        invitation.expires_at = invitation.issued_at
        session.add(invitation)
    status, error = _post(client, {"token": expired.token, "answers": ANSWERS})
    assert (status, error["error"]) == (410, "expired")


def test_reusing_a_submission_id_for_another_survey_is_409(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    first, second = issue(client, make_key), issue(client, make_key, dossier_code="D-2")
    assert (
        _post(client, {"token": first.token, "answers": ANSWERS, "client_submission_id": "same"})[0]
        == 201
    )
    status, error = _post(
        client, {"token": second.token, "answers": ANSWERS, "client_submission_id": "same"}
    )
    assert (status, error["error"]) == (409, "client_submission_id_reused")


def test_wrong_guesses_are_rate_limited_per_address(
    client: TestClient, survey: IssuedSurvey, make_key: KeyFactory, db: DbFactory
) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    for _ in range(settings.guess_limit):
        assert _post(client, {"short_code": "ZZZZ-ZZZZ", "answers": ANSWERS})[0] == 404
    blocked = client.post(URL, json={"short_code": "ZZZZ-ZZZZ", "answers": ANSWERS})
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "rate_limited"
    assert 0 < int(blocked.headers["retry-after"]) <= settings.guess_window_seconds
    # Even the right short code waits: otherwise guessing would just continue.
    other = issue(client, make_key, dossier_code="D-CODE")
    assert _post(client, {"short_code": other.short_code, "answers": ANSWERS})[0] == 429
    # A wrong whole token is refused as before, unlooked-for or not.
    assert _post(client, {"token": "x" * 43, "answers": ANSWERS})[0] == 429
    # A right whole token (256 random bits: no count of guesses reaches one) is answered:
    # citizens behind one address with the guessers lost their valid links (walkthrough).
    assert _post(client, {"token": survey.token, "answers": ANSWERS})[0] == 201
    assert client.get(other.path).status_code == 200  # its page, by its link
    assert client.get("/s/" + "y" * 43).status_code == 429  # a wrong link's page
    with db() as session:
        assert session.exec(select(func.count()).select_from(Response)).one() == 1


def test_a_complaint_on_the_longest_dossier_code_is_stored(
    client: TestClient, make_key: KeyFactory, agencies: None, db: DbFactory
) -> None:
    """The comment is filed as petition 'HL-<dossier code>': on a 64-character code that
    outgrew the petition's column, and PostgreSQL refused the whole answer (a 500)."""
    code = "G22.39-" + "X" * 57
    survey = issue(client, make_key, dossier_code=code)
    body = {"token": survey.token, "answers": {**ANSWERS, "complaint": "Chờ lâu"}}
    status, created = _post(client, body)
    assert status == 201, created
    with db() as session:
        petition = session.exec(select(Petition)).one()
        assert petition.code == f"HL-{code}" and len(petition.code) == 67


def test_a_contact_without_consent_is_refused_in_the_api_s_own_words(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    """(review) The contact-without-consent refusal, word for word and in its place among
    the others: systems written against the API read its `fields` (the form names the
    consent box instead, pages.py; the API's answer must not change with it)."""
    body = {
        "token": survey.token,
        "answers": {**ANSWERS, "overall": None, "wants_reply": True},
        "contact": "0901 234 567",
    }
    response = client.post(URL, json=body)
    assert response.status_code == 422
    missing = "Please choose an answer."
    consent = "Tick the consent box so we may keep your contact, or leave it empty."
    nothing_asked = (
        "Write what you would like the office to answer, or choose to leave a comment only."
    )
    assert (
        response.content
        == json.dumps(
            {
                "error": "invalid_input",
                "detail": "Some answers are missing or invalid: "
                f"answers.overall: {missing}; contact: {consent}; "
                f"answers.complaint: {nothing_asked}",
                "fields": [
                    {"field": "answers.overall", "problem": missing},
                    {"field": "contact", "problem": consent},
                    {"field": "answers.complaint", "problem": nothing_asked},
                ],
            },
            separators=(",", ":"),
        ).encode()
    )
    with db() as session:
        assert session.exec(select(func.count()).select_from(Response)).one() == 0


def test_a_retry_with_another_submitted_at_is_a_409_not_a_dropped_correction(
    client: TestClient, survey: IssuedSurvey, make_key: KeyFactory, db: DbFactory
) -> None:
    """(scoring audit) An import re-sent under the same client_submission_id with its time
    corrected (20/9 meant 2/10) heard 200, "stored", and the evaluation stayed in September.
    The same time again is a retry; another is refused and says so."""
    admin = make_key("admin")
    body = {
        "token": survey.token,
        "answers": ANSWERS,
        "client_submission_id": "import-row-17",
        "submitted_at": "2025-09-20T09:00:00+07:00",
    }
    assert client.post("/api/v1/responses", json=body, headers=admin).status_code == 201
    same = client.post(
        "/api/v1/responses",
        json={**body, "submitted_at": "2025-09-20T02:00:00+00:00"},  # the same moment
        headers=admin,
    )
    assert same.status_code == 200, same.text
    corrected = {**body, "submitted_at": "2025-10-02T09:00:00+07:00"}
    refused = client.post("/api/v1/responses", json=corrected, headers=admin)
    assert refused.status_code == 409 and refused.json()["error"] == "already_answered"
    assert "submitted_at" in refused.json()["detail"]
    with db() as session:
        [stored] = session.exec(select(Response)).all()
    assert stored.received_at == datetime.fromisoformat("2025-09-20T09:00:00+07:00")
