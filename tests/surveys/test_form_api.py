"""GET /api/v1/surveys/{token}/form: the questionnaire of an invitation, from the scoring
profile, for a portal or app that shows the survey itself and answers through the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.app import create_app
from service.models import Invitation, Response, ResponseContact
from service.profile import PROFILES_DIR, Profile, load_profile
from tests.conftest import DbFactory, KeyFactory, make_settings
from tests.surveys.conftest import ANSWERS, IssuedSurvey, issue


def form_url(token: str) -> str:
    return f"/api/v1/surveys/{token}/form"


def expected_questions(profile: Profile) -> list[dict[str, Any]]:
    """The questionnaire as the profile writes it, with the page's free-text question."""
    questions: list[dict[str, Any]] = [
        {
            "field": q.field,
            "label": {"vi": q.label["vi"], "en": q.label["en"]},
            "required": "api" in q.required_in,
            "kind": "choice",
            "answers": [{"value": a.value, "label": {"vi": a.vi, "en": a.en}} for a in q.answers],
        }
        for q in profile.survey.questions
    ]
    if profile.survey.complaint_max_chars:
        questions.append(
            {
                "field": "complaint",
                "label": {
                    "vi": "Góp ý, phản ánh (không bắt buộc)",
                    "en": "Comments or complaints (optional)",
                },
                "required": False,
                "kind": "text",
                "max_length": profile.survey.complaint_max_chars,
                "answers": [],
            }
        )
    return questions


def chosen(form: dict[str, Any], pick: int) -> dict[str, Any]:
    """Answers a portal would send: for each choice question, its `pick`-th value (the last
    when it has fewer), read from the form alone."""
    return {
        q["field"]: q["answers"][min(pick, len(q["answers"]) - 1)]["value"]
        for q in form["questions"]
        if q["kind"] == "choice"
    }


def test_form_of_the_default_profile_and_its_documented_body_answers(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    profile = client.app.state.profile  # type: ignore[attr-defined]
    response = client.get(form_url(survey.token))
    assert response.status_code == 200, response.text
    form = response.json()
    assert form["questions"] == expected_questions(profile)
    assert form["dossier_code"] == survey.dossier_code
    assert form["agency"] == {"code": "G22.39", "name": "UBND Phường Tân Định"}
    assert form["language"] == "vi" and form["procedure_name"] == "Đăng ký khai sinh"
    assert form["expires_at"].endswith(("+00:00", "Z"))
    submit = form["submit"]
    assert submit["method"] == "POST"
    assert submit["url"] == "http://testserver/api/v1/responses"
    with db() as session:
        invitation = session.exec(select(Invitation)).one()
    assert invitation.public_id == form["survey_id"]
    assert invitation.status == "opened" and invitation.opened_at is not None  # as the page

    # The documented body, with the citizen's choices (not the example's), answers once.
    body = submit["body_example"]
    assert body["token"] == survey.token and set(body["answers"]) <= {
        *(q["field"] for q in form["questions"]),
        "wants_reply",
    }
    answers = chosen(form, pick=1)
    assert answers != {k: v for k, v in body["answers"].items() if k in answers}
    body["answers"].update(answers)
    created = client.post("/api/v1/responses", json=body)
    assert created.status_code == 201, created.text
    assert client.post("/api/v1/responses", json=body).status_code == 200  # a retry: the same
    with db() as session:
        stored = session.exec(select(Response)).all()
    assert len(stored) == 1
    assert {field: getattr(stored[0], field) for field in answers} == answers


def test_english_invitation_and_labels_in_both_languages(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    english = issue(client, make_key, dossier_code="D-EN", language="en")
    form = client.get(form_url(english.token)).json()
    assert form["language"] == "en"
    first = form["questions"][0]
    assert first["label"] == {
        "vi": "Hồ sơ có được trả đúng hẹn không?",
        "en": "Was your result ready on the promised date?",
    }
    assert first["answers"][0]["label"] == {"vi": "Đúng hẹn", "en": "On time"}


@pytest.fixture
def variant_profile(tmp_path: Path) -> Path:
    """vn-766 changed as an operator may: one question fewer, optional on the API, its own
    words, a shorter comment box. Nothing of it may be hard-coded in the form."""
    text = (PROFILES_DIR / "vn-766.toml").read_text(encoding="utf-8")
    head, _, rest = text.partition('[[survey.questions]]\nfield = "timeliness"')
    _, _, rest = rest.partition("[[survey.questions]]")
    text = head + "[[survey.questions]]" + rest
    text = text.replace("complaint_max_chars = 2000", "complaint_max_chars = 500")
    overall = 'required_in = ["phone", "kiosk", "api"]\nlabel = { vi = "Mức độ hài lòng chung?"'
    assert overall in text
    text = text.replace(
        overall, 'required_in = ["phone", "kiosk"]\nlabel = { vi = "Ông/bà hài lòng đến đâu?"'
    )
    text = text.replace('en = "Ordinary"', 'en = "So-so"')
    path = tmp_path / "variant.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("profile_name", ["vn-766", "variant"])
def test_form_follows_other_profiles(
    database_url: str,
    make_key: KeyFactory,
    agencies: None,
    db: DbFactory,
    variant_profile: Path,
    profile_name: str,
) -> None:
    chosen_profile = str(variant_profile) if profile_name == "variant" else profile_name
    settings = make_settings(database_url, scoring_profile=chosen_profile)
    profile = load_profile(chosen_profile)
    with TestClient(create_app(settings)) as client:
        survey = issue(client, make_key)
        form = client.get(form_url(survey.token)).json()
        assert form["questions"] == expected_questions(profile)
        if profile_name == "variant":
            fields = [q["field"] for q in form["questions"]]
            assert "timeliness" not in fields and fields[-1] == "complaint"
            assert form["questions"][-1]["max_length"] == 500
            assert "Ông/bà hài lòng đến đâu?" in json.dumps(form, ensure_ascii=False)
            overall = next(q for q in form["questions"] if q["field"] == "overall")
            assert overall["required"] is False
        body = form["submit"]["body_example"]
        body["answers"].update(chosen(form, pick=2))
        answered = client.post("/api/v1/responses", json=body)
        assert answered.status_code == 201, answered.text
    with db() as session:
        assert len(session.exec(select(Response)).all()) == 1


def test_unknown_answered_revoked_expired(
    client: TestClient, make_key: KeyFactory, agencies: None, db: DbFactory
) -> None:
    unknown = client.get(form_url("not-a-real-token"))
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert unknown.json()["detail"]

    answered = issue(client, make_key)
    client.post("/api/v1/responses", json={"token": answered.token, "answers": ANSWERS})
    conflict = client.get(form_url(answered.token))
    assert (conflict.status_code, conflict.json()["error"]) == (409, "already_answered")

    revoked = issue(client, make_key, dossier_code="D-REVOKED")
    client.post(f"/api/v1/handovers/{revoked.dossier_code}/revoke", headers=make_key("issuer"))
    gone = client.get(form_url(revoked.token))
    assert (gone.status_code, gone.json()["error"]) == (410, "revoked")

    expired = issue(client, make_key, dossier_code="D-OLD")
    with db() as session:
        invitation = session.exec(select(Invitation).order_by(col(Invitation.id).desc())).first()
        assert invitation is not None
        invitation.expires_at = invitation.issued_at
        session.add(invitation)
    late = client.get(form_url(expired.token))
    assert (late.status_code, late.json()["error"]) == (410, "expired")
    with db() as session:
        statuses = {i.status for i in session.exec(select(Invitation)).all()}
    assert "opened" not in statuses  # a refused form opens nothing


def test_wrong_tokens_are_rate_limited(client: TestClient, survey: IssuedSurvey) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    for attempt in range(settings.guess_limit):
        assert client.get(form_url(f"wrong-{attempt}")).status_code == 404
    blocked = client.get(form_url("wrong-again"))
    assert blocked.status_code == 429 and blocked.json()["error"] == "rate_limited"
    assert 0 < int(blocked.headers["retry-after"]) <= settings.guess_window_seconds
    # The right one is served: a whole token cannot be guessed, and citizens behind one
    # address with the guessers lost their valid links to the 429 (walkthrough).
    assert client.get(form_url(survey.token)).status_code == 200


def test_nothing_of_other_citizens_answers_leaks(
    client: TestClient, make_key: KeyFactory, agencies: None, db: DbFactory
) -> None:
    other = issue(client, make_key, dossier_code="D-OTHER")
    secret_text, phone = "Cán bộ Nguyễn Văn A thu thêm phí", "0909123456"
    body = {
        "token": other.token,
        "answers": {**ANSWERS, "complaint": secret_text, "wants_reply": True},
        "contact": phone,
        "contact_consent": True,
    }
    assert client.post("/api/v1/responses", json=body).status_code == 201
    with db() as session:
        assert session.exec(select(ResponseContact)).one().contact == phone
    mine = issue(client, make_key, dossier_code="D-MINE")
    text = client.get(form_url(mine.token)).text
    for private in (secret_text, phone, other.token, other.dossier_code, "D-OTHER"):
        assert private not in text


def test_openapi_documents_the_form(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/surveys/{token}/form"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/SurveyForm"}
    for code in ("404", "409", "410", "429"):
        assert code in operation["responses"]
    properties = spec["components"]["schemas"]["FormQuestion"]["properties"]
    assert {"field", "label", "required", "kind", "max_length", "answers"} <= set(properties)
    assert "security" not in operation  # the token is the credential


PORTAL = "https://dichvucong.example.gov.vn"


def test_a_listed_portal_page_fetches_the_form_and_posts_the_answer_itself(
    database_url: str, make_key: KeyFactory, agencies: None, db: DbFactory
) -> None:
    """Draw it yourself from the citizen's browser: the form and the answer carry CORS
    headers for an origin HAILONG_EMBED_ORIGINS lists, and the JSON post's preflight is
    answered (it was a 405, so a portal had to relay every citizen through its server)."""
    settings = make_settings(database_url, embed_origins=PORTAL)
    with TestClient(create_app(settings)) as client:
        survey = issue(client, make_key)
        fetched = client.get(form_url(survey.token), headers={"Origin": PORTAL})
        assert fetched.status_code == 200
        assert fetched.headers["access-control-allow-origin"] == PORTAL
        preflight = client.options(
            "/api/v1/responses",
            headers={
                "Origin": PORTAL,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == PORTAL
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in preflight.headers
        body = fetched.json()["submit"]["body_example"]
        body["answers"].update(chosen(fetched.json(), pick=0))
        answered = client.post("/api/v1/responses", json=body, headers={"Origin": PORTAL})
        assert answered.status_code == 201, answered.text
        assert answered.headers["access-control-allow-origin"] == PORTAL
        again = client.post("/api/v1/responses", json=body | {"client_submission_id": "x-2"})
        assert again.status_code == 409  # what a portal's script reads: already answered
    with db() as session:
        assert len(session.exec(select(Response)).all()) == 1


def test_cross_origin_reading_is_for_listed_portals_and_never_with_a_key(
    database_url: str, make_key: KeyFactory, agencies: None
) -> None:
    """Another origin's page reads nothing; a listed portal's page may not send a key (an
    API key in a portal's page would be every visitor's), nor read with cookies."""
    settings = make_settings(database_url, embed_origins=PORTAL)
    with TestClient(create_app(settings)) as client:
        survey = issue(client, make_key)
        other = client.get(form_url(survey.token), headers={"Origin": "https://other.example"})
        assert "access-control-allow-origin" not in other.headers
        keyed = client.options(
            "/api/v1/scores",
            headers={
                "Origin": PORTAL,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert keyed.status_code == 400  # a browser sends nothing after a failed preflight
        assert "authorization" not in keyed.headers["access-control-allow-headers"].lower()
        page = client.get(survey.path, headers={"Origin": PORTAL})
        assert "access-control-allow-credentials" not in page.headers


def test_without_listed_portals_no_cross_origin_headers(
    client: TestClient, survey: IssuedSurvey
) -> None:
    fetched = client.get(form_url(survey.token), headers={"Origin": PORTAL})
    assert "access-control-allow-origin" not in fetched.headers
