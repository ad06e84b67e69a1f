"""A complaint is counted as a person counts letters (survey audit): typed with Unikey's
"Unicode tổ hợp" (a letter, then its marks), pasted from a macOS file name, or let through
by Safari's maxlength (which counts what a person sees), "ễ" is three code points, and a
complaint of 2,000 letters was refused as "hiện có 2658", a count the citizen could not
find in what they wrote. It is taken, and stored composed."""

from __future__ import annotations

import re
import unicodedata

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Response
from tests.conftest import DbFactory
from tests.surveys.conftest import ANSWERS, IssuedSurvey

pytestmark = pytest.mark.usefixtures("agencies")
LIMIT = 2000  # the profile's complaint_max_chars
SENTENCE = "Thủ tục được giải quyết nhanh nhưng tôi phải chờ ở quầy hơn một tiếng đồng hồ. "


def vietnamese_text(length: int) -> str:
    """Vietnamese text exactly `length` letters long as a person counts them (composed)."""
    text = (SENTENCE * (length // len(SENTENCE) + 1))[:length]
    assert len(text) == length and unicodedata.is_normalized("NFC", text)
    return text


def stored_complaint(db: DbFactory) -> str | None:
    with db() as session:
        return session.exec(select(Response.complaint)).one()


def test_a_complaint_of_2000_letters_typed_decomposed_is_taken_on_the_form(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    composed = vietnamese_text(LIMIT)
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) > LIMIT
    form = {**ANSWERS, "complaint": decomposed, "lang": "vi"}
    posted = client.post(survey.path, data=form, follow_redirects=False)
    assert posted.status_code == 303, re.findall(r'class="error"[^>]*>([^<]*)', posted.text)
    assert stored_complaint(db) == composed


def test_a_complaint_of_2000_letters_sent_decomposed_is_taken_by_the_api(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    composed = vietnamese_text(LIMIT)
    body = {
        "token": survey.token,
        "answers": {**ANSWERS, "complaint": unicodedata.normalize("NFD", composed)},
    }
    answered = client.post("/api/v1/responses", json=body)
    assert answered.status_code == 201, answered.text
    assert stored_complaint(db) == composed


def test_a_complaint_of_2001_letters_is_still_refused_in_letters(
    client: TestClient, survey: IssuedSurvey
) -> None:
    decomposed = unicodedata.normalize("NFD", vietnamese_text(LIMIT + 1))
    posted = client.post(survey.path, data={**ANSWERS, "complaint": decomposed, "lang": "vi"})
    assert posted.status_code == 422
    assert f"hiện có {LIMIT + 1}" in posted.text
