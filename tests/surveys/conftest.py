"""Fixtures for answering surveys: an issued invitation and its token."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory, handover_body


@dataclass
class IssuedSurvey:
    token: str
    short_code: str
    path: str  # /s/<token>
    dossier_code: str


def issue(client: TestClient, make_key: KeyFactory, **overrides: object) -> IssuedSurvey:
    response = client.post(
        "/api/v1/handovers", json=handover_body(**overrides), headers=make_key("issuer")
    )
    assert response.status_code == 201, response.text
    body = response.json()
    token = body["survey_url"].rsplit("/", 1)[1]
    return IssuedSurvey(token, body["short_code"], f"/s/{token}", body["dossier_code"])


@pytest.fixture
def survey(client: TestClient, make_key: KeyFactory, agencies: None) -> IssuedSurvey:
    return issue(client, make_key)


ANSWERS = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "good",
    "overall": "satisfied",
}
