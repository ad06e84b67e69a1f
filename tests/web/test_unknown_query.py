"""An API request names only query parameters its route takes, as its body names only
known fields: a misspelt or misplaced filter was ignored, and the answer covered what it
was meant to narrow (an evaluations export given `parent_code` exported every agency the
key reaches; audit). Pages take any (a link's tracking parameters)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory
from tests.surveys.conftest import ANSWERS, issue

pytestmark = pytest.mark.usefixtures("agencies")


def test_a_filter_the_export_does_not_take_is_refused_naming_what_it_takes(
    client: TestClient, make_key: KeyFactory
) -> None:
    reader = make_key("reader")
    refused = client.get("/api/v1/evaluations.csv", params={"parent_code": "79"}, headers=reader)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "invalid_input"
    assert body["detail"].startswith("Unknown query parameter: parent_code. This endpoint takes:")
    assert "agency_code" in body["detail"] and "period" in body["detail"]
    assert [f["field"] for f in body["fields"]] == ["parent_code"]
    taken = client.get("/api/v1/evaluations.csv", params={"agency_code": "79"}, headers=reader)
    assert taken.status_code == 200, taken.text


def test_a_route_s_own_and_its_dependencies_parameters_are_taken(
    client: TestClient, make_key: KeyFactory
) -> None:
    reader = make_key("reader")
    scores = client.get(
        "/api/v1/rankings", params={"period": "2025-Q3", "parent_code": "79"}, headers=reader
    )
    assert scores.status_code == 200, scores.text
    misspelt = client.get(
        "/api/v1/rankings", params={"period": "2025-Q3", "parent": "79"}, headers=reader
    )
    assert misspelt.status_code == 422
    assert [f["field"] for f in misspelt.json()["fields"]] == ["parent"]


def test_the_public_api_refuses_them_too_and_pages_do_not(
    client: TestClient, make_key: KeyFactory
) -> None:
    survey = issue(client, make_key)
    answer = {"token": survey.token, "answers": ANSWERS}
    refused = client.post("/api/v1/responses", params={"debug": "1"}, json=answer)
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["fields"]] == ["debug"]
    page = client.get(survey.path, params={"utm_source": "zalo"})
    assert page.status_code == 200
    ranking = client.get("/rankings", params={"period": "2025-Q3", "utm_source": "zalo"})
    assert ranking.status_code == 200
