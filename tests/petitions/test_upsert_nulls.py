"""POST /api/v1/petitions with the optional flags sent as null (API.md "Inputs")."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/petitions"
BODY = {
    "petition_code": "PAKN-NULL",
    "agency_code": "G22.39",
    "received_at": "2025-09-16T09:00:00+07:00",
}
DEFAULTS = {"result_complaint": False, "within_authority": True}
FLAGS = tuple(DEFAULTS)


@pytest.mark.parametrize("field", FLAGS)
def test_an_optional_petition_flag_sent_as_null_is_taken_as_not_given(
    client: TestClient, make_key: KeyFactory, field: str
) -> None:
    """(audit) A national system whose serializer writes null for an unset flag had every
    such petition refused with a 422 in pydantic's words; null is the flag not sent."""
    response = client.post(URL, json={**BODY, field: None}, headers=make_key("admin"))
    assert response.status_code == 201, response.text
    assert response.json()[field] is DEFAULTS[field]


def test_an_update_sending_the_flags_as_null_keeps_them_as_stored(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(audit) An update with the flags as null keeps them as one without them does: taken
    as the defaults, a result complaint recorded before would have been wiped."""
    admin = make_key("admin")
    stored = {"result_complaint": True, "within_authority": False}
    assert client.post(URL, json={**BODY, **stored}, headers=admin).status_code == 201
    update = {**BODY, "handled_at": "2025-09-20T09:00:00+07:00"}
    nulls = client.post(URL, json={**update, **dict.fromkeys(FLAGS)}, headers=admin)
    assert nulls.status_code == 200, nulls.text
    left_out = client.post(URL, json=update, headers=admin)
    assert nulls.json() == left_out.json()
    assert {name: nulls.json()[name] for name in FLAGS} == stored


def test_openapi_shows_the_petition_flags_as_nullable(client: TestClient) -> None:
    """(audit) /openapi.json said the flags could not be null, as a generated client
    believed; they are optional as the API's other optional fields."""
    schema = client.get("/openapi.json").json()["components"]["schemas"]["PetitionUpsert"]
    for name in FLAGS:
        assert {"type": "null"} in schema["properties"][name]["anyOf"], name
