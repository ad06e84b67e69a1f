"""A form shown before the questionnaire lost a question (a restart without the TT 01/2018
profile beside it) and sent after: "form not valid, open the link again", with neither the
answers nor the comment typed (survey audit). It is shown again as typed, saying why,
without that question, and goes through when sent again."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Response
from tests.conftest import DbFactory
from tests.surveys.conftest import ANSWERS, IssuedSurvey

pytestmark = pytest.mark.usefixtures("agencies")
COMMENT = "Cán bộ hướng dẫn rất tận tình, cảm ơn."


def test_a_form_naming_a_question_no_longer_asked_is_shown_again_as_typed(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    form = {**ANSWERS, "agencies_contacted": "desk_only", "complaint": COMMENT, "lang": "vi"}
    posted = client.post(survey.path, data=form, follow_redirects=False)
    assert posted.status_code == 422, posted.text
    assert "Bộ câu hỏi vừa được cập nhật" in posted.text
    assert COMMENT in posted.text
    assert 'name="agencies_contacted"' not in posted.text  # the question is gone
    assert 'name="timeliness" value="on_time" checked' in posted.text  # answers kept
    with db() as session:
        assert session.exec(select(Response)).all() == []
    again = {name: value for name, value in form.items() if name != "agencies_contacted"}
    sent = client.post(survey.path, data=again, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    with db() as session:
        assert session.exec(select(Response.complaint)).one() == COMMENT


def test_the_english_form_says_so_in_english(client: TestClient, survey: IssuedSurvey) -> None:
    form = {**ANSWERS, "agencies_contacted": "desk_only", "lang": "en"}
    posted = client.post(survey.path, data=form, follow_redirects=False)
    assert posted.status_code == 422
    assert "The questions have just been updated" in posted.text
