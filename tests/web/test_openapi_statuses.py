"""(contract audit) What /openapi.json says every status a route answers: the 304 of the
score reads (with their ETag), the 413 of a body too large, the 503 of a database away;
clients generated from the document met them as undocumented failures. And If-None-Match
compares weakly (RFC 9110 13.1.2): a tag sent back without its W/ matches."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory, handover_body
from tests.surveys.conftest import ANSWERS

pytestmark = pytest.mark.usefixtures("agencies")
CONDITIONAL = [
    "/api/v1/scores",
    "/api/v1/agencies/{code}/scores/{period}",
    "/api/v1/agencies/{code}/scores/{period}/explain",
    "/api/v1/rankings",
]


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    paths = client.get("/openapi.json").json()["paths"]
    return [(p, m, op) for p, ops in paths.items() for m, op in ops.items()]


def test_score_reads_declare_their_304_and_etag(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in CONDITIONAL:
        answers = paths[path]["get"]["responses"]
        assert "304" in answers and "ETag" in answers["304"]["headers"], path
        assert "ETag" in answers["200"]["headers"] and "content" in answers["200"], path


def test_every_api_route_declares_503_and_those_taking_a_body_413(client: TestClient) -> None:
    api = [(p, m, op) for p, m, op in _operations(client) if p.startswith("/api/")]
    assert len(api) > 40
    for path, method, operation in api:
        answers = operation["responses"]
        assert "Retry-After" in answers["503"]["headers"], (method, path)
        assert ("413" in answers) is ("requestBody" in operation), (method, path)
    bodies = {(p, m) for p, m, op in api if "requestBody" in op}
    assert {("/api/v1/handovers", "post"), ("/api/v1/responses", "post")} <= bodies


def test_a_body_too_large_is_the_413_declared(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/responses",
        content=b'{"token":"' + b"a" * 1_100_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413 and answer.json()["error"] == "body_too_large"


def test_if_none_match_compares_weakly(client: TestClient, make_key: KeyFactory) -> None:
    reader = make_key("reader")
    url = "/api/v1/agencies/G22.39/scores/2025-Q3"
    tag = client.get(url, headers=reader).headers["etag"]
    assert tag.startswith('W/"')
    for sent in (tag, tag.removeprefix("W/"), f'"other", {tag.removeprefix("W/")}'):
        again = client.get(url, headers={**reader, "If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.headers["etag"] == tag
    other = client.get(url, headers={**reader, "If-None-Match": '"other"'})
    assert other.status_code == 200


def test_what_is_always_sent_is_required_in_the_document(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(contract audit) ResponseCreated.status and Score.inputs are in every body, yet were
    optional in /openapi.json: a generated client typed them nullable."""
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    issued = client.post(
        "/api/v1/handovers", json=handover_body(), headers=make_key("issuer")
    ).json()
    answered = client.post(
        "/api/v1/responses",
        json={"token": issued["survey_url"].rsplit("/", 1)[1], "answers": ANSWERS},
    )
    assert answered.status_code == 201, answered.text
    assert set(schemas["ResponseCreated"]["required"]) == set(answered.json())
    score = client.get("/api/v1/agencies/G22.39/scores/2025-Q3", headers=make_key("reader"))
    assert set(schemas["Score"]["required"]) == set(score.json())
