"""Kiosk complaints get an answer too (issue 20, item 5): the tablet's answer carries the
citizen's contact and consent, checked and stored as on the phone, and its response the
private follow-up link, of which hailong draws the QR code the thank-you screen shows (decoded in
test_kiosk_followup_browser.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Petition, ResponseContact
from service.ops.observability import redact
from tests.conftest import DbFactory, KeyFactory
from tests.kiosk.conftest import ANSWERS, hand_over, pair

pytestmark = pytest.mark.usefixtures("agencies")
COMPLAINT = {**ANSWERS, "complaint": "Xin gọi lại cho tôi.", "wants_reply": True}


def answer(client: TestClient, make_key: KeyFactory, submission: str, **extra: Any) -> Any:
    issued = hand_over(client, make_key, dossier_code=f"D-{submission}")
    body = {"survey_id": issued["survey_id"], "client_submission_id": submission, **extra}
    return client.post("/kiosk/api/answers", json={"answers": COMPLAINT, **body})


def test_a_contact_with_consent_is_stored_as_on_the_phone_and_the_link_comes_back(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    pair(client, make_key)
    stored = answer(client, make_key, "k-1", contact="+84 903 123 456", contact_consent=True)
    assert stored.status_code == 201, stored.text
    assert stored.headers["cache-control"] == "no-store"
    link = stored.json()["followup_url"]
    assert link.startswith("http://testserver/p/")
    with db() as session:
        contact = session.exec(select(ResponseContact)).one()
        assert contact.contact == "+84 903 123 456"  # as typed, like POST /s/{token}
        assert contact.response_id == stored.json()["response_id"]
        petition = session.exec(select(Petition)).one()
        assert petition.kind == "petition" and petition.deadline_at is not None
    # The link is the citizen's follow-up page.
    page = client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200 and "Xin gọi lại cho tôi." in page.text


def test_a_retry_of_the_same_submission_gets_the_same_link(
    client: TestClient, make_key: KeyFactory
) -> None:
    pair(client, make_key)
    issued = hand_over(client, make_key)
    body = {
        "survey_id": issued["survey_id"],
        "answers": COMPLAINT,
        "client_submission_id": "tap-1",
        "contact": "ten.ho@gmail.com",
        "contact_consent": True,
    }
    first = client.post("/kiosk/api/answers", json=body)
    replay = client.post("/kiosk/api/answers", json=body)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json() == first.json() and first.json()["followup_url"]


def test_a_retry_that_adds_a_contact_is_refused_not_a_200_that_drops_it(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The same submission id with a contact the first send lacked heard 200 and the
    contact was dropped (audit): the tablet showed "thank you" and the agency could not
    answer the complaint. It is another submission to an answered survey: 409."""
    pair(client, make_key)
    issued = hand_over(client, make_key)
    body = {"survey_id": issued["survey_id"], "answers": COMPLAINT, "client_submission_id": "t"}
    assert client.post("/kiosk/api/answers", json=body).status_code == 201
    with_contact = {**body, "contact": "0903123456", "contact_consent": True}
    again = client.post("/kiosk/api/answers", json=with_contact)
    assert (again.status_code, again.json()["error"]) == (409, "already_answered")
    assert client.post("/kiosk/api/answers", json=body).status_code == 200
    with db() as session:
        assert session.exec(select(ResponseContact)).all() == []


def test_without_consent_no_contact_is_stored_and_the_problem_is_named(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    pair(client, make_key)
    # A contact without the consent box: refused (422) as by the API, nothing stored.
    refused = answer(client, make_key, "k-2", contact="0903123456")
    assert refused.status_code == 422
    [problem] = [f for f in refused.json()["fields"] if f["field"] == "contact"]
    assert "consent" in problem["problem"]
    # Not a phone number or an e-mail: refused the same way.
    wrong = answer(client, make_key, "k-3", contact="not-a-phone", contact_consent=True)
    assert wrong.status_code == 422
    assert any("phone number" in f["problem"] for f in wrong.json()["fields"])
    with db() as session:
        assert session.exec(select(ResponseContact)).all() == []
        assert session.exec(select(Petition)).all() == []
    # No contact, consent or not: stored without one; asking for an answer still gives
    # the citizen the follow-up link.
    plain = answer(client, make_key, "k-4", contact_consent=True)
    assert plain.status_code == 201, plain.text
    assert plain.json()["followup_url"]
    with db() as session:
        assert session.exec(select(ResponseContact)).all() == []


def test_a_comment_without_an_answer_asked_or_a_contact_gets_no_link(
    client: TestClient, make_key: KeyFactory
) -> None:
    pair(client, make_key)
    issued = hand_over(client, make_key)
    body = {
        "survey_id": issued["survey_id"],
        "answers": {**ANSWERS, "complaint": "Phòng chờ hơi nóng."},
        "client_submission_id": "c-1",
    }
    stored = client.post("/kiosk/api/answers", json=body)
    assert stored.status_code == 201 and stored.json()["followup_url"] is None


def test_the_qr_route_draws_only_real_follow_up_links(
    client: TestClient, make_key: KeyFactory
) -> None:
    pair(client, make_key)
    link = answer(client, make_key, "k-5").json()["followup_url"]
    path = link.removeprefix("http://testserver")
    svg = client.get(f"{path}/qr.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["cache-control"] == "no-store"
    assert svg.headers["referrer-policy"] == "no-referrer"
    assert b"<svg" in svg.content

    token = path.removeprefix("/p/")
    for other in (
        f"/p/{token[:-1]}x/qr.svg",  # a guess
        "/p/not-a-token/qr.svg",
        "/p/https%3A%2F%2Fevil.example/qr.svg",  # no QR of anything
    ):
        missing = client.get(other)
        assert missing.status_code == 404, other
        assert b"<svg" not in missing.content
    # A survey token is not a follow-up token.
    survey_token = hand_over(client, make_key, dossier_code="D-S")["survey_url"].rsplit("/", 1)[1]
    assert client.get(f"/p/{survey_token}/qr.svg").status_code == 404
    # Request logs and metric labels never carry the token.
    assert redact(f"{path}/qr.svg") == "/p/{token}/qr.svg"


def test_a_consent_sent_as_null_is_taken_as_not_given(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(audit) A native kiosk app writing null for an unset consent had its answers
    refused (422) and dropped from its outbox: null is not given, as in the JSON API."""
    pair(client, make_key)
    stored = answer(client, make_key, "k-null", contact_consent=None)
    assert stored.status_code == 201, stored.text
    with db() as session:
        assert session.exec(select(ResponseContact)).first() is None
