"""A contact is a phone number or an e-mail the agency can answer to; anything else is
refused next to the field, in the citizen's language (issue 17, item 9)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import ResponseContact
from service.surveys.contact import contact_problem
from tests.conftest import DbFactory
from tests.surveys.conftest import ANSWERS, IssuedSurvey

FORM = {**ANSWERS, "complaint": "Xin gọi lại cho tôi.", "wants_reply": "yes", "consent": "yes"}


@pytest.mark.parametrize(
    "contact",
    [
        "0903123456",
        "0903 123 456",
        "090.312.3456",
        "0903-123-456",
        "+84 903 123 456",
        "84903123456",
        "0084 903 123 456",  # as handovers take it (messaging/contacts.py)
        "+84 (0) 903 123 456",
        "028 3829 1234",  # a Hồ Chí Minh City landline: 11 digits
        "ten.ho@gmail.com",
        "phuong.bt@tphcm.gov.vn",
    ],
)
def test_phone_numbers_and_emails_are_accepted(contact: str) -> None:
    assert contact_problem(contact, "vi") is None


@pytest.mark.parametrize(
    "contact",
    [
        "not-a-phone",
        "090312345",
        "09031234567890",
        "+1 415 555 0100",
        "ten@",
        "@gmail.com",
        "ten@gmail",
        "ten ho@gmail.com",
        "0903 123 456 hoặc Zalo",
        # Refused since the audit, as messaging/contacts.py refuses them: other scripts'
        # digits (kept as a number no one can call), a name with a dot at its end or two
        # together, a control character (mail servers refuse them all).
        "0\uff19\uff10\uff13\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width
        "0\u0669\u0660\u0663\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic
        ".ten@gmail.com",
        "ten.@gmail.com",
        "ten..ho@gmail.com",
        "ten\x1b@gmail.com",
    ],
)
def test_anything_else_is_refused_with_an_example_of_what_is_wanted(contact: str) -> None:
    vi, en = contact_problem(contact, "vi"), contact_problem(contact, "en")
    assert vi is not None and "số điện thoại" in vi and "0901 234 567" in vi
    assert en is not None and "phone number" in en and "e-mail" in en


def test_the_survey_page_refuses_not_a_phone_next_to_the_field_in_the_citizen_s_language(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    page = client.post(survey.path, data={**FORM, "contact": "not-a-phone"})
    assert page.status_code == 422
    error = re.search(r'<p class="error" id="err-contact">(.*?)</p>', page.text)
    assert error and "Vui lòng nhập số điện thoại" in error.group(1)
    assert 'value="not-a-phone"' in page.text  # kept for correcting, not retyped
    english = client.post(survey.path, data={**FORM, "contact": "not-a-phone", "lang": "en"})
    assert english.status_code == 422 and "Enter a phone number" in english.text
    with db() as session:
        assert session.exec(select(ResponseContact)).all() == []
    ok = client.post(survey.path, data={**FORM, "contact": "+84 903 123 456"})
    assert ok.status_code == 200
    with db() as session:
        assert session.exec(select(ResponseContact)).one().contact == "+84 903 123 456"


def test_a_hidden_character_in_the_forms_contact_is_the_form_again_not_a_lost_answer(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    """PostgreSQL refused a NUL in the contact when the row was written: the citizen's
    answers were lost to an error page; SQLite stored it (audit). As for the complaint."""
    page = client.post(survey.path, data={**FORM, "contact": "ten\x00@gmail.com"})
    assert page.status_code == 422
    error = re.search(r'<p class="error" id="err-contact">(.*?)</p>', page.text)
    assert error and "ký tự điều khiển ẩn" in error.group(1)
    assert "Xin gọi lại cho tôi." in page.text  # the answers kept for sending again
    with db() as session:
        assert session.exec(select(ResponseContact)).all() == []


def test_the_api_names_the_contact_field(client: TestClient, survey: IssuedSurvey) -> None:
    body = {
        "token": survey.token,
        "answers": ANSWERS,
        "contact": "not-a-phone",
        "contact_consent": True,
    }
    response = client.post("/api/v1/responses", json=body)
    assert response.status_code == 422
    [problem] = [f for f in response.json()["fields"] if f["field"] == "contact"]
    assert "phone number" in problem["problem"]


def test_the_contact_field_lets_a_phone_type_either_and_suggests_one_kind(
    client: TestClient, survey: IssuedSurvey
) -> None:
    page = client.get(survey.path).text
    field = re.search(r'<input id="contact"[^>]*>', page)
    assert field
    # The ordinary keyboard (letters, digits and '@'), not the e-mail one, while the
    # browser's suggestion is a phone number: the two used to disagree.
    assert "inputmode" not in field.group(0) and 'type="text"' in field.group(0)
    assert 'autocomplete="tel"' in field.group(0)


def test_a_contact_left_without_a_comment_is_kept_as_consented(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    """The consent box reads "… liên hệ lại với tôi": a phone number given with it and no
    comment is the office's to call back about the evaluation (the raw evaluations carry
    it). It was once dropped without a word, as if it served nothing (review)."""
    form = {**ANSWERS, "contact": "0903 123 456", "consent": "yes"}
    assert client.post(survey.path, data=form).status_code == 200
    with db() as session:
        assert [c.contact for c in session.exec(select(ResponseContact))] == ["0903 123 456"]
