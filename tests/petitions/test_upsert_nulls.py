"""POST /api/v1/petitions with the optional flags sent as null (API.md "Inputs")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from service.models import utcnow
from tests.conftest import KeyFactory
from tests.scoring.test_feedback_and_aging import AGENCY, ANSWERS, issue

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


def test_a_resend_with_a_null_deadline_keeps_the_deadline_told_at_receipt(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(scoring audit) The default deadline is fixed at receipt with the calendar known then
    (profile, [petitions]). A connector's daily re-send with `deadline_at: null` (an unset
    property, as Jackson or Go write it) made it again from today's calendar: a day off
    declared since moved it a day, and a petition handled a day late turned on time."""
    admin = make_key("admin")
    record = {
        "petition_code": "PAKN-LATE",
        "agency_code": "G22.39",
        "received_at": "2025-09-04T08:00:00+07:00",  # 15 working days: to Thu 25/9
        "handled_at": "2025-09-26T10:00:00+07:00",  # a day late
    }
    first = client.post(URL, json=record, headers=admin)
    assert first.status_code == 201, first.text
    told = first.json()["deadline_at"]
    assert told == "2025-09-25T16:59:59.999999Z", told  # the end of 25/9 in Vietnam
    day_off = {"working": False}
    off = client.put("/api/v1/calendar/overrides/2025-09-10", json=day_off, headers=admin)
    assert off.status_code == 200, off.text
    again = client.post(URL, json={**record, "deadline_at": None}, headers=admin)
    assert again.status_code == 200, again.text
    # The same deadline, written the same way (a just-set time came back as sent, a kept
    # one in UTC: a client comparing strings saw a change that was none).
    assert again.json()["deadline_at"] == told
    score = client.get("/api/v1/agencies/G22.39/scores/2025-09", headers=admin).json()
    assert score["group5"]["petitions_on_time_rate"] == 0.0


def test_a_comments_deadline_sent_in_error_can_be_withdrawn(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(review) A survey comment that asks no answer has no deadline; one the national
    system sends is its own, and `deadline_at: null` withdraws it. Taken as "not sent",
    nothing could take it off, and the comment stayed due (console, follow-up, group 5)."""
    token = issue(client, make_key, "HS-CD")
    page = client.post(f"/s/{token}", data={**ANSWERS, "complaint": "Cảm ơn", "wants_reply": "no"})
    assert page.status_code == 200
    now = utcnow()
    body = {"petition_code": "HL-HS-CD", "agency_code": AGENCY, "received_at": now.isoformat()}
    issuer = make_key("issuer")
    deadline = (now + timedelta(days=10)).isoformat()
    given = client.post("/api/v1/petitions", json=body | {"deadline_at": deadline}, headers=issuer)
    assert given.status_code == 200 and given.json()["deadline_at"] is not None, given.text
    withdrawn = client.post("/api/v1/petitions", json=body | {"deadline_at": None}, headers=issuer)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["deadline_at"] is None, withdrawn.json()
