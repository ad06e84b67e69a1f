"""The short link of a message, /m/{code}: where it leads and what of its query it keeps."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory
from tests.surveys.conftest import issue

FIRST_QUESTION_EN = "Was your result ready on the promised date?"
FIRST_QUESTION_VI = "Hồ sơ có được trả đúng hẹn không?"


def test_the_short_link_opens_the_survey_in_the_language_it_asks_for(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    """(audit) /m/{code}?lang=en redirected to the survey without its `lang`: the citizen
    who opened an English link met the Vietnamese survey. The language carries over."""
    survey = issue(client, make_key)  # a Vietnamese invitation
    english = client.get(f"/m/{survey.short_code}?lang=en", follow_redirects=False)
    assert english.status_code == 303
    assert english.headers["location"].endswith(f"{survey.path}?lang=en")
    page = client.get(f"/m/{survey.short_code}?lang=en")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text and FIRST_QUESTION_EN in page.text


def test_the_short_link_of_an_english_invitation_opens_in_english_unless_asked_otherwise(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    """(audit) Without a `lang` the survey opens in the invitation's language; with one,
    in that: /m/{code}?lang=vi of an English invitation opened the English survey."""
    english = issue(client, make_key, language="en")
    page = client.get(f"/m/{english.short_code}")
    assert '<html lang="en">' in page.text and FIRST_QUESTION_EN in page.text
    in_vietnamese = client.get(f"/m/{english.short_code}?lang=vi")
    assert '<html lang="vi">' in in_vietnamese.text and FIRST_QUESTION_VI in in_vietnamese.text


@pytest.mark.parametrize("tag", ["EN", "en-US", "en_GB"])
def test_the_short_link_reads_a_language_tag_as_the_pages_do(
    client: TestClient, make_key: KeyFactory, agencies: None, tag: str
) -> None:
    """/s/{token}?lang=EN is the English survey (i18n.pick_language); /m/{code}?lang=EN
    dropped the tag and opened the Vietnamese one (kiosk and public pages audit)."""
    survey = issue(client, make_key)
    response = client.get(f"/m/{survey.short_code}?lang={tag}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith(f"{survey.path}?lang=en")


@pytest.mark.parametrize(
    "query",
    ["?lang=fr", "?lang=en%22%3E%3Cscript%3E", "?next=https://evil.example", ""],
)
def test_the_short_link_reflects_nothing_else_of_its_query(
    client: TestClient, make_key: KeyFactory, agencies: None, query: str
) -> None:
    """Only a language the pages speak is carried over; nothing else typed after the link
    reaches the redirect."""
    survey = issue(client, make_key)
    response = client.get(f"/m/{survey.short_code}{query}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith(survey.path)
