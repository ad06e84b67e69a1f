"""Pages around the survey, in the language the citizen reads and saying only what is true
(survey audit): a short link's "not found" stayed Vietnamese under ?lang=en; an English
survey's withdrawn slip was Vietnamese; the English follow-up page named its one complaint
"Petitions"; the "already answered" page promised a follow-up link to every phone answer,
and the thank-you page it opened had none where no comment was left."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory
from tests.surveys.conftest import ANSWERS, IssuedSurvey, issue

pytestmark = pytest.mark.usefixtures("agencies")


def test_a_short_links_unknown_code_page_speaks_english_when_asked(client: TestClient) -> None:
    english = client.get("/m/ABCD-EFGH?lang=en", follow_redirects=False)
    assert english.status_code == 404
    assert '<html lang="en">' in english.text and "Survey not found" in english.text
    vietnamese = client.get("/m/ABCD-EFGH", follow_redirects=False)
    assert '<html lang="vi">' in vietnamese.text


def test_the_withdrawn_slip_of_an_english_survey_is_in_english(
    client: TestClient, make_key: KeyFactory
) -> None:
    english = issue(client, make_key, dossier_code="EN-1", language="en")
    assert '<html lang="en">' in client.get(f"{english.path}/slip").text
    revoked = client.post("/api/v1/handovers/EN-1/revoke", headers=make_key("issuer"))
    assert revoked.status_code == 200, revoked.text
    slip = client.get(f"{english.path}/slip")
    assert slip.status_code == 410
    assert '<html lang="en">' in slip.text
    unknown = client.get("/s/no-such-token-0123456789abcdef/slip")
    assert unknown.status_code == 404 and '<html lang="vi">' in unknown.text


def test_the_english_followup_page_names_its_one_complaint_in_the_singular(
    client: TestClient, survey: IssuedSurvey
) -> None:
    form = {**ANSWERS, "complaint": "Chờ lâu", "wants_reply": "yes", "lang": "en"}
    thanks = client.post(survey.path, data=form)
    link = re.search(r'id="followup-link" href="([^"]+)"', thanks.text)
    assert link is not None
    page = client.get(link.group(1).replace("http://testserver", ""))
    assert page.status_code == 200 and '<html lang="en">' in page.text
    assert 'aria-label="Your complaint"' in page.text


def test_the_answered_page_promises_the_comment_only_to_an_answer_that_left_one(
    client: TestClient, make_key: KeyFactory
) -> None:
    plain = issue(client, make_key, dossier_code="PLAIN-1")
    assert client.post(plain.path, data={**ANSWERS, "lang": "vi"}).status_code == 200
    answered = client.get(plain.path)
    assert answered.status_code == 409
    assert "Xem lại trang cảm ơn</a>" in answered.text
    assert "theo dõi" not in answered.text and "góp ý, phản ánh đã gửi" not in answered.text
    assert "See the thank-you page again</a>" in client.get(f"{plain.path}?lang=en").text

    commented = issue(client, make_key, dossier_code="COMMENT-1")
    form = {**ANSWERS, "complaint": "Chờ lâu", "wants_reply": "yes", "lang": "vi"}
    thanks = client.post(commented.path, data=form)
    assert 'id="followup-link"' in thanks.text
    again = client.get(commented.path)
    assert again.status_code == 409
    assert "Xem lại trang cảm ơn và góp ý, phản ánh đã gửi</a>" in again.text
