"""Reloading the phone's thank-you page keeps the follow-up link (issue 20, item 5): POST
/s/{token} answers 303 to GET /s/{token}/thanks, which a reload shows again, without a
second answer and without JavaScript."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Petition, Response
from service.surveys import lookup
from tests.conftest import DbFactory, KeyFactory
from tests.surveys.conftest import ANSWERS, IssuedSurvey, issue

FORM = {
    **ANSWERS,
    "complaint": "Xin cơ quan trả lời giúp.",
    "wants_reply": "yes",
    "contact": "0903 123 456",
    "consent": "yes",
}
LINK = re.compile(r'<a id="followup-link" href="([^"]+)">')


def test_post_redirects_to_a_thanks_page_that_a_reload_shows_again(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    posted = client.post(survey.path, data=FORM, follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"] == f"{survey.path}/thanks?lang=vi"

    thanks = client.get(posted.headers["location"])
    assert thanks.status_code == 200
    assert "Cảm ơn ông/bà đã đánh giá!" in thanks.text and "Hạn trả lời" in thanks.text
    assert thanks.headers["cache-control"] == "no-store"
    link = LINK.search(thanks.text)
    assert link and link.group(1).startswith("http://testserver/p/")
    # The link is the citizen's follow-up page.
    assert client.get(link.group(1).removeprefix("http://testserver")).status_code == 200

    # A reload: the same page, the same link; nothing posted again.
    again = client.get(posted.headers["location"])
    assert again.status_code == 200
    again_link = LINK.search(again.text)
    assert again_link and again_link.group(1) == link.group(1)
    with db() as session:
        [answer] = session.exec(select(Response)).all()
        assert answer.source == "phone"
        assert len(session.exec(select(Petition)).all()) == 1
    # Posting again is still refused with the "already answered" page.
    assert client.post(survey.path, data=FORM).status_code == 409


def test_the_thanks_page_speaks_the_language_of_the_form(
    client: TestClient, survey: IssuedSurvey
) -> None:
    page = client.post(survey.path, data={**FORM, "lang": "en"})  # the redirect followed
    assert page.status_code == 200 and page.url.path == f"{survey.path}/thanks"
    assert "Thank you" in page.text and LINK.search(page.text)


def test_a_comment_without_an_answer_asked_or_a_contact_shows_no_link(
    client: TestClient, survey: IssuedSurvey
) -> None:
    page = client.post(survey.path, data={**ANSWERS, "complaint": "Phòng chờ hơi nóng."})
    assert page.status_code == 200 and "Cảm ơn ông/bà đã đánh giá!" in page.text
    assert 'id="followup-link"' not in page.text


def test_the_thanks_page_shows_no_link_of_an_answer_given_elsewhere(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    survey = issue(client, make_key)
    by_app = client.post(
        "/api/v1/responses",
        json={
            "token": survey.token,
            "answers": {**ANSWERS, "complaint": "Xin trả lời.", "wants_reply": True},
            "source": "kiosk",
        },
    )
    assert by_app.status_code == 201 and by_app.json()["followup_url"]
    page = client.get(f"{survey.path}/thanks")
    assert page.status_code == 409 and 'id="followup-link"' not in page.text


def test_unknown_unanswered_and_withdrawn_surveys(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    assert client.get("/s/not-a-real-token/thanks").status_code == 404
    survey = issue(client, make_key)
    # Not answered (where the honeypot's post lands): a plain thank-you, no link.
    plain = client.get(f"{survey.path}/thanks")
    assert plain.status_code == 200 and 'id="followup-link"' not in plain.text
    client.post(f"/api/v1/handovers/{survey.dossier_code}/revoke", headers=make_key("issuer"))
    assert client.get(f"{survey.path}/thanks").status_code == 410


def test_the_answered_page_leads_a_phone_back_to_its_thank_you_page(
    client: TestClient, survey: IssuedSurvey, make_key: KeyFactory
) -> None:
    """A reply lost on 3G and the form sent again, or the slip's QR scanned again: the 409
    page had no way back to the complaint's follow-up link (audit). Still a 409 (API.md),
    with a link to the thank-you page; not for an answer given elsewhere (a kiosk, an app),
    whose thank-you page is not the phone's."""
    client.post(survey.path, data=FORM)
    for again in (client.post(survey.path, data=FORM), client.get(survey.path)):
        assert again.status_code == 409
        assert f'href="{survey.path}/thanks?lang=vi"' in again.text
    other = issue(client, make_key, dossier_code="BY-APP")
    body = {"token": other.token, "answers": ANSWERS}
    assert client.post("/api/v1/responses", json=body).status_code == 201
    answered = client.get(other.path)
    assert answered.status_code == 409 and "/thanks" not in answered.text


def test_a_form_sent_twice_at_once_leads_the_second_to_the_thank_you_page(
    client: TestClient,
    make_key: KeyFactory,
    agencies: None,
    engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A double tap, or a resend on slow 3G while the first post is still being written:
    the first stores the answer after the second has looked the survey up, and the second
    loses the claim (409). The browser shows only the second reply, which had no link back
    to the thank-you page (and the follow-up link) as a 409 after the commit has: the
    answer's source was the lookup's, before the first one committed (audit)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: nothing comes between")
    survey = issue(client, make_key)
    by_token = lookup.by_token
    first: dict[str, Any] = {}

    def the_first_post_lands_meanwhile(*args: Any) -> Any:
        found = by_token(*args)
        if not first:
            first["sent"] = True
            posted = client.post(survey.path, data=FORM, follow_redirects=False)
            first["status"] = posted.status_code
        return found

    monkeypatch.setattr(lookup, "by_token", the_first_post_lands_meanwhile)
    second = client.post(survey.path, data=FORM, follow_redirects=False)
    monkeypatch.undo()
    assert first["status"] == 303  # stored; the browser never sees this reply
    assert second.status_code == 409, second.text
    assert f'href="{survey.path}/thanks?lang=vi"' in second.text


def test_required_questions_are_marked_and_a_reply_needs_something_to_answer(
    client: TestClient, survey: IssuedSurvey
) -> None:
    """The template read a `q.required` the profile's questions do not have: no question
    was marked or `required` for assistive technology (audit). And "Phản ánh" with nothing
    written opened nothing, said nothing, and kept the contact (audit): the form again."""
    form = client.get(survey.path).text
    assert form.count('<span class="req" aria-hidden="true">*</span>') == len(ANSWERS)
    assert form.count(" required>") == sum(form.count(f'name="{field}"') for field in ANSWERS)
    empty = {**FORM, "complaint": "  "}
    page = client.post(survey.path, data=empty)
    assert page.status_code == 422
    assert "vui lòng ghi nội dung cần cơ quan trả lời" in page.text
    assert 'value="0903 123 456"' in page.text  # the contact kept as typed
